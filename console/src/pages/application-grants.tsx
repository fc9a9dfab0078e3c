import { useEffect, useState } from 'react';
import { useLocation, useParams } from 'wouter';
import { can } from '../api/permissions';
import { refreshMe } from '../api/session';
import { listServiceAccounts, updateGrants } from '../api/service-accounts';
import { useSession } from '../api/session-store';
import { useAction, useApi } from '../api/use-api';
import { checkDrafts, GrantEditor, toDraft, toGrantInputs, type GrantDraft } from '../components/admin/grant-editor';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';
import { NEEDS_ORG_ADMIN } from './applications';
import '../admin.css';

/** Edits a service account's grants (they replace the old ones; its tokens get them at once). */
export function ApplicationGrantsPage() {
  const { accessKey = '' } = useParams<{ accessKey: string }>();
  const { me } = useSession();
  const allowed = can(me.serviceAccount.grants, 'ORG_ADMIN');
  const [, navigate] = useLocation();
  const [drafts, setDrafts] = useState<GrantDraft[] | null>(null);
  const list = useApi((signal) => (allowed ? listServiceAccounts(signal) : Promise.resolve([])), [allowed]);
  const sa = list.data?.find((s) => s.accessKey === accessKey);
  useEffect(() => {
    if (sa && !drafts) setDrafts(sa.grants.map(toDraft));
  }, [sa]);
  const save = useAction(async () => {
    if (!drafts) return;
    await updateGrants(accessKey, toGrantInputs(drafts));
    if (accessKey === me.serviceAccount.accessKey) await refreshMe();
    navigate('/applications');
  });
  if (!allowed)
    return (
      <section>
        <h1>Grants</h1>
        <NotAllowed>{NEEDS_ORG_ADMIN}</NotAllowed>
      </section>
    );
  if (list.loading && !list.data) return <Loading what="the service account" />;
  if (list.error) return <ErrorMessage error={list.error} />;
  if (!sa) return <NotAllowed>This organisation has no service account {accessKey}.</NotAllowed>;
  const problem = drafts ? checkDrafts(drafts) : null;
  return (
    <section>
      <h1>Grants of {sa.name}</h1>
      <p className="hint">
        <span className="mono">{sa.accessKey}</span>. The grants below replace the current ones; tokens the account already holds get them at once.
        {accessKey === me.serviceAccount.accessKey ? ' This is your own account: removing ORG_ADMIN ends your access to this page.' : ''}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!problem) void save.run();
        }}
      >
        {drafts ? <GrantEditor drafts={drafts} onChange={setDrafts} /> : null}
        {problem ? <p className="hint">{problem}</p> : null}
        <ErrorMessage error={save.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={save.running || !!problem}>
            Save grants
          </button>
          <button type="button" onClick={() => navigate('/applications')}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
