import { useEffect } from 'react';
import { Route, Router, Switch } from 'wouter';
import { useHashLocation } from 'wouter/use-hash-location';
import { endSession, useSessionState } from './api/session-store';
import { refreshMe } from './api/session';
import { Layout } from './components/layout';
import { NotFoundPage } from './pages/not-found';
import { SignInPage } from './pages/sign-in';
import { routes } from './routes';

/** Ends the session when its token expires (a token that is not renewed). */
function useExpiry(expiresAt: number | null | undefined): void {
  useEffect(() => {
    if (!expiresAt) return;
    const t = setTimeout(() => endSession('Your session has expired. Sign in again.'), Math.max(0, expiresAt - Date.now()));
    return () => clearTimeout(t);
  }, [expiresAt]);
}

/** The console: the sign-in page, or the pages of the signed-in account. */
export function App() {
  const { session } = useSessionState();
  useExpiry(session?.expiresAt);
  const token = session?.token;
  // A session restored after a reload: check the token and reload the grants.
  useEffect(() => {
    if (token) void refreshMe().catch(() => undefined);
  }, []);
  if (!token) return <SignInPage />;
  return (
    <Router hook={useHashLocation}>
      <Layout>
        <Switch>
          {routes.map((r) => (
            <Route key={r.path} path={r.path} component={r.page} />
          ))}
          <Route component={NotFoundPage} />
        </Switch>
      </Layout>
    </Router>
  );
}
