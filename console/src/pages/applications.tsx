import { useState } from 'react';
import { Link } from 'wouter';
import { can, describeGrant } from '../api/permissions';
import { deleteServiceAccount, listServiceAccounts, rotateSecret, setEnabled, type Credentials, type ServiceAccountRow } from '../api/service-accounts';
import { useSession } from '../api/session-store';
import { useAction, useApi } from '../api/use-api';
import { SecretOnce } from '../components/admin/secret-once';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';
import { formatTime } from '../components/format';
import '../admin.css';

/** The sentence every service-account page shows to an account without ORG_ADMIN. */
export const NEEDS_ORG_ADMIN = 'Your service account may not manage service accounts (needs ORG_ADMIN).';

/** One account's row: its grants and what can be done to it. */
function AccountRow({ sa, self, onChanged, onCredentials }: { readonly sa: ServiceAccountRow; readonly self: boolean; readonly onChanged: () => void; readonly onCredentials: (c: Credentials) => void }) {
  const toggle = useAction(async () => {
    await setEnabled(sa.accessKey, !sa.enabled);
    onChanged();
  });
  const rotate = useAction(async () => {
    onCredentials(await rotateSecret(sa.accessKey));
    onChanged();
  });
  const remove = useAction(async () => {
    await deleteServiceAccount(sa.accessKey);
    onChanged();
  });
  const error = toggle.error ?? rotate.error ?? remove.error;
  const busy = toggle.running || rotate.running || remove.running;
  return (
    <tr data-access-key={sa.accessKey} data-name={sa.name}>
      <td>
        <strong>{sa.name}</strong>
        {self ? <span className="badge you">you</span> : null}
        <div className="mono muted nowrap">{sa.accessKey}</div>
      </td>
      <td>
        <span className={`badge ${sa.enabled ? 'ONLINE' : 'DISABLED'}`}>{sa.enabled ? 'Enabled' : 'Disabled'}</span>
      </td>
      <td>
        <ul className="grants">
          {sa.grants.map((g, i) => (
            <li key={i}>{describeGrant(g)}</li>
          ))}
        </ul>
      </td>
      <td>{formatTime(sa.createdAt)}</td>
      <td>
        <div className="row-actions">
        <Link href={`/applications/${encodeURIComponent(sa.accessKey)}/grants`} className="button">
          Edit grants
        </Link>
        {self ? (
          <span className="hint">Your own account cannot be disabled, rotated or deleted here: it would end this session.</span>
        ) : (
          <>
            <button type="button" onClick={() => void toggle.run()} disabled={busy}>
              {sa.enabled ? 'Disable' : 'Enable'}
            </button>
            <ConfirmButton label="Rotate secret" confirmLabel="Really rotate? Its tokens stop working" disabled={busy} onConfirm={() => void rotate.run()} />
            <ConfirmButton label="Delete" confirmLabel="Really delete the account?" disabled={busy} onConfirm={() => void remove.run()} />
          </>
        )}
        </div>
        <ErrorMessage error={error} />
      </td>
    </tr>
  );
}

/** Applications and their service accounts: list, disable or enable, rotate the secret, delete. */
export function ApplicationsPage() {
  const { me } = useSession();
  const allowed = can(me.serviceAccount.grants, 'ORG_ADMIN');
  const [shown, setShown] = useState<Credentials | null>(null);
  const list = useApi((signal) => (allowed ? listServiceAccounts(signal) : Promise.resolve([])), [allowed]);
  if (!allowed)
    return (
      <section>
        <h1>Applications</h1>
        <NotAllowed>{NEEDS_ORG_ADMIN}</NotAllowed>
      </section>
    );
  const rows = list.data ?? [];
  return (
    <section>
      <h1>Applications</h1>
      <p className="hint">Each application gets a service account: an AccessKey and a SecretKey it signs token requests with, and grants that say what its tokens may do.</p>
      {shown ? <SecretOnce credentials={shown} rotated onDone={() => setShown(null)} /> : null}
      <div className="toolbar">
        <span className="muted">{rows.length} service accounts</span>
        <span className="spacer" />
        <Link href="/applications/new" className="button primary">
          Register an application
        </Link>
      </div>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="service accounts" /> : null}
      <table>
        <thead>
          <tr>
            <th>Name and AccessKey</th>
            <th>State</th>
            <th>Grants</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((sa) => (
            <AccountRow key={sa.accessKey} sa={sa} self={sa.accessKey === me.serviceAccount.accessKey} onChanged={list.reload} onCredentials={setShown} />
          ))}
        </tbody>
      </table>
    </section>
  );
}
