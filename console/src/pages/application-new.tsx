import { useState } from 'react';
import { useLocation } from 'wouter';
import { can } from '../api/permissions';
import { createServiceAccount, type Credentials } from '../api/service-accounts';
import { useSession } from '../api/session-store';
import { useAction } from '../api/use-api';
import { checkDrafts, GrantEditor, NEW_GRANT, toGrantInputs, type GrantDraft } from '../components/admin/grant-editor';
import { SecretOnce } from '../components/admin/secret-once';
import { ErrorMessage, NotAllowed } from '../components/error-message';
import { NEEDS_ORG_ADMIN } from './applications';
import '../admin.css';

/** Registers an application: a name and grants give a new service account, whose SecretKey is shown once. */
export function ApplicationNewPage() {
  const allowed = can(useSession().me.serviceAccount.grants, 'ORG_ADMIN');
  const [, navigate] = useLocation();
  const [name, setName] = useState('');
  const [drafts, setDrafts] = useState<GrantDraft[]>([NEW_GRANT]);
  const [created, setCreated] = useState<Credentials | null>(null);
  const create = useAction(async () => setCreated(await createServiceAccount(name.trim(), toGrantInputs(drafts))));
  const problem = checkDrafts(drafts);
  if (!allowed)
    return (
      <section>
        <h1>Register an application</h1>
        <NotAllowed>{NEEDS_ORG_ADMIN}</NotAllowed>
      </section>
    );
  if (created)
    return (
      <section>
        <h1>Application registered</h1>
        <SecretOnce credentials={created} onDone={() => navigate('/applications')} />
      </section>
    );
  return (
    <section>
      <h1>Register an application</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!problem) void create.run();
        }}
      >
        <fieldset className="form plain" disabled={create.running}>
          <label>
            Application name
            <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={128} placeholder="e.g. Plant dashboard" />
          </label>
        </fieldset>
        <h2 className="section">Grants</h2>
        <GrantEditor drafts={drafts} onChange={setDrafts} />
        {problem ? <p className="hint">{problem}</p> : null}
        <ErrorMessage error={create.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={create.running || !!problem || !name.trim()}>
            Register
          </button>
          <button type="button" onClick={() => navigate('/applications')}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
