import { Link } from 'wouter';
import { gql } from '../api/client';
import { can, canEverywhere, describeGrant, type Permission } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useApi } from '../api/use-api';
import { ErrorMessage } from '../components/error-message';

const ABILITIES: readonly { readonly permission: Permission; readonly words: string }[] = [
  { permission: 'REGISTRY_READ', words: 'see thing models, products and devices' },
  { permission: 'REGISTRY_FULL', words: 'create, change and delete thing models, products and devices' },
  { permission: 'ASSET_READ', words: 'read device data, files and live streams' },
  { permission: 'ASSET_WRITE', words: 'send device data and delete files' },
  { permission: 'ORG_ADMIN', words: 'manage service accounts and subscription jobs' },
];

/** The start page: who is signed in, what the account may do, and how much there is. */
export function OverviewPage() {
  const { me } = useSession();
  const grants = me.serviceAccount.grants;
  const registry = can(grants, 'REGISTRY_READ');
  const counts = useApi(
    () => (registry ? gql<{ products: { totalCount: number }; devices: { totalCount: number } }>('{ products(first: 1) { totalCount } devices(first: 1) { totalCount } }') : Promise.resolve(null)),
    [registry],
  );
  return (
    <section>
      <h1>Overview</h1>
      <div className="cards">
        <div className="card">
          <h2>Organisation</h2>
          <p>
            <strong>{me.organisation.name}</strong> <span className="muted">({me.organisation.id})</span>
          </p>
          {counts.data ? (
            <p>
              <Link href="/products">{counts.data.products.totalCount} products</Link> · <Link href="/devices">{counts.data.devices.totalCount} devices</Link>
            </p>
          ) : null}
          <ErrorMessage error={counts.error} />
        </div>
        <div className="card">
          <h2>Service account</h2>
          <p>
            <strong>{me.serviceAccount.name}</strong> <span className="muted">({me.serviceAccount.accessKey})</span>
          </p>
          <ul className="grants" data-testid="grants">
            {grants.map((g, i) => (
              <li key={i}>{describeGrant(g)}</li>
            ))}
          </ul>
        </div>
        <div className="card">
          <h2>What this account may do</h2>
          <ul className="abilities">
            {ABILITIES.map((a) => {
              const anywhere = canEverywhere(grants, a.permission);
              const somewhere = can(grants, a.permission);
              return (
                <li key={a.permission} className={somewhere ? 'yes' : 'no'}>
                  {somewhere ? '✓' : '✗'} {a.words}
                  {somewhere && !anywhere ? <span className="muted"> (some products or devices only)</span> : null}
                </li>
              );
            })}
          </ul>
        </div>
      </div>
    </section>
  );
}
