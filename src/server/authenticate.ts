import type { IncomingHttpHeaders } from 'node:http';
import type { SQL } from 'drizzle-orm';
import { Access, type Caller } from '../auth/permissions';
import { sameCaller, type Confirmation } from '../auth/speculation';
import { callerHoldsSql, callerSql, isPlausibleToken, toCaller, verifyToken, type CallerRow } from '../auth/tokens';
import type { AppDeps } from './deps';

/** The access token of a request: `Authorization: Bearer <t>` or `apim-accesstoken: <t>`. */
export function tokenFromHeaders(headers: IncomingHttpHeaders | Record<string, unknown>): string | undefined {
  const auth = headers['authorization'];
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const apim = headers['apim-accesstoken'];
  if (typeof apim === 'string' && apim.trim()) return apim.trim();
  return undefined;
}

/** The token in graphql-ws `connection_init` params: accessToken, token, or an Authorization entry. */
export function tokenFromConnectionParams(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  for (const k of ['accessToken', 'token', 'apim-accesstoken']) {
    const v = params[k];
    if (typeof v === 'string' && v) return v;
  }
  const headers = (params['headers'] ?? params) as Record<string, unknown>;
  const auth = headers['Authorization'] ?? headers['authorization'];
  if (typeof auth === 'string') return tokenFromHeaders({ authorization: auth });
  return undefined;
}

/**
 * Resolves a token to the caller's access; `Access(null)` when absent or invalid. The answer is
 * remembered for read-only requests that speculate (auth/speculation.ts).
 */
export async function authenticate(deps: AppDeps, token: string | undefined): Promise<Access> {
  if (!token) return new Access(null);
  const caller = await verifyToken(deps.db, token);
  remember(deps, token, caller);
  return new Access(caller);
}

/** Remembers (or forgets) the caller behind a token, as the database just answered. */
function remember(deps: AppDeps, token: string, caller: Caller | null): void {
  if (caller) deps.speculation.callers.set(token, caller);
  else deps.speculation.callers.delete(token);
}

/** The confirmation that a token still belongs to `cached`, for a request that speculates on it (auth/speculation.ts). */
export function tokenConfirmation(deps: AppDeps, token: string, cached: Caller): Confirmation | null {
  if (!isPlausibleToken(token)) return null;
  // PERF: the query is built when first asked for; an ingest call asserts the caller with it, at most once per transaction.
  let query: SQL | undefined;
  const callerQuery = () => (query ??= callerSql(token)!);
  let key: string | undefined;
  return {
    get query() {
      return callerQuery();
    },
    key: `token\u0000${token}`,
    assertion: () => {
      key ??= `token\u0000${token}\u0000${cached.saId}\u0000${cached.orgId}\u0000${cached.accessKey}\u0000${JSON.stringify(cached.grants)}`;
      return {
        key,
        get holds() {
          return callerHoldsSql(callerQuery(), cached);
        },
      };
    },
    check: (rows) => {
      const caller = rows[0] ? toCaller(rows[0] as unknown as CallerRow) : null;
      remember(deps, token, caller);
      return sameCaller(caller, cached);
    },
  };
}
