import { useEffect, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { useConnectionStatus } from '../api/live';
import { can } from '../api/permissions';
import { isRenewable, signOut } from '../api/session';
import { useSession } from '../api/session-store';
import { NAV_GROUPS, routes } from '../routes';

const STATUS_WORDS = { idle: 'Live: not connected', connecting: 'Live: connecting…', connected: 'Live: connected', reconnecting: 'Live: reconnecting…' } as const;

/** The live connection's state, shown in the header. */
function ConnectionIndicator() {
  const status = useConnectionStatus();
  return (
    <span className={`conn conn-${status}`} data-testid="connection-status" data-status={status} title="The WebSocket that carries live data">
      {STATUS_WORDS[status]}
    </span>
  );
}

/** "Session ends at 12:34" when the token will not be renewed. */
function SessionExpiry({ expiresAt }: { readonly expiresAt: number | null }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 30_000);
    return () => clearInterval(t);
  }, []);
  if (expiresAt === null || isRenewable()) return null;
  return <span className="muted">Session ends at {new Date(expiresAt).toLocaleTimeString()}</span>;
}

/** The frame of every signed-in page: header, navigation, content. */
export function Layout({ children }: { readonly children: React.ReactNode }) {
  const session = useSession();
  const [location] = useLocation();
  const grants = session.me.serviceAccount.grants;
  const entries = routes.filter((r) => r.nav);
  return (
    <div className="shell">
      <header className="topbar">
        <Link href="/" className="brand">
          Tributary
        </Link>
        <span className="who" data-testid="signed-in-as">
          {session.me.serviceAccount.name} <span className="muted">({session.me.serviceAccount.accessKey})</span> in <strong>{session.me.organisation.name}</strong>
        </span>
        <span className="spacer" />
        <ConnectionIndicator />
        <SessionExpiry expiresAt={session.expiresAt} />
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <div className="body">
        <nav className="sidenav" aria-label="Main">
          {NAV_GROUPS.map((group) => {
            const items = entries.filter((r) => r.nav?.group === group);
            if (!items.length) return null;
            return (
              <div key={group} className="nav-group">
                <div className="nav-group-title">{group}</div>
                {items.map((r) => {
                  const allowed = !r.nav?.requires || can(grants, r.nav.requires);
                  const active = r.path === '/' ? location === '/' : location.startsWith(r.path);
                  return (
                    <Link key={r.path} href={r.path} className={`nav-item${active ? ' active' : ''}${allowed ? '' : ' not-allowed-nav'}`} title={allowed ? undefined : `Needs ${r.nav?.requires}`}>
                      {r.nav?.label}
                    </Link>
                  );
                })}
              </div>
            );
          })}
        </nav>
        <main className="content">{children}</main>
      </div>
    </div>
  );
}
