import { gql } from './client';
import { ApiError, toApiError } from './errors';
import { endSession, getSessionState, setSession, type Me, type Session } from './session-store';
import { signTokenRequest } from './sign';

/**
 * Signing in and out. With keys, the token comes from the EnOS token service
 * (POST /apim-token-service/v2.0/token/get, signed in the browser) and is renewed before it
 * expires while the secret key is in this tab's memory; a pasted token is used as it is.
 */

const TOKEN_URL = '/apim-token-service/v2.0/token/get';

/** Share of a token's life after which it is renewed (the service issues a new one past half). */
const RENEW_AT_SHARE = 0.6;

const ME_QUERY = `{ me { organisation { id name } serviceAccount { accessKey name grants { permission productKeys assetIds } } } }`;

/** Token service status codes (docs/enos-rest-api.md) in the console's words. */
const TOKEN_STATUS_CODES: Readonly<Record<number, string>> = {
  1001: 'BAD_SIGNATURE',
  1002: 'UNKNOWN_ACCESS_KEY',
  1003: 'BAD_SIGNATURE',
  1004: 'BAD_USER_INPUT',
  1005: 'INTERNAL_SERVER_ERROR',
  1202: 'BAD_USER_INPUT',
};

/** The keys of a session opened with keys; memory only, never stored. */
let keys: { accessKey: string; secretKey: string } | null = null;
let renewTimer: ReturnType<typeof setTimeout> | undefined;

async function requestToken(accessKey: string, secretKey: string): Promise<{ token: string; expireS: number }> {
  const timestamp = String(Date.now());
  let res: Response;
  try {
    res = await fetch(TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: accessKey, encryption: signTokenRequest(accessKey, timestamp, secretKey), timestamp }),
    });
  } catch (e) {
    throw toApiError(e);
  }
  if (res.status === 429) throw new ApiError('RATE_LIMITED', 'too many failed sign-ins; wait a minute', undefined, Number(res.headers.get('retry-after')) || undefined);
  const body = (await res.json().catch(() => null)) as { status?: number; msg?: string; data?: { accessToken: string; expire: number | string } | null } | null;
  if (!body || body.status !== 0 || !body.data) throw new ApiError(TOKEN_STATUS_CODES[body?.status ?? -1] ?? 'BAD_RESPONSE', body?.msg ?? `HTTP ${res.status}`);
  return { token: body.data.accessToken, expireS: Number(body.data.expire) };
}

async function fetchMe(token: string): Promise<Me> {
  return (await gql<{ me: Me }>(ME_QUERY, {}, { token })).me;
}

function scheduleRenewal(session: Session, lifeMs: number): void {
  clearTimeout(renewTimer);
  if (!keys || session.expiresAt === null) return;
  const at = session.expiresAt - lifeMs * (1 - RENEW_AT_SHARE);
  renewTimer = setTimeout(() => void renew(), Math.max(1_000, at - Date.now()));
}

async function renew(): Promise<void> {
  const current = getSessionState().session;
  if (!keys || !current) return;
  try {
    const { token, expireS } = await requestToken(keys.accessKey, keys.secretKey);
    const next: Session = { ...current, token, expiresAt: Date.now() + expireS * 1000 };
    setSession(next);
    scheduleRenewal(next, expireS * 1000);
  } catch (e) {
    const err = toApiError(e);
    // A refused renewal (account disabled or rotated) ends the session; a network failure retries.
    if (err.code === 'NETWORK' || err.code === 'RATE_LIMITED' || err.code === 'SERVICE_UNAVAILABLE') renewTimer = setTimeout(() => void renew(), 15_000);
    else endSession(`The session could not be renewed: ${err.message}`);
  }
}

/** Signs in with a service account's keys. */
export async function signInWithKeys(accessKey: string, secretKey: string): Promise<void> {
  const { token, expireS } = await requestToken(accessKey.trim(), secretKey.trim());
  const me = await fetchMe(token);
  keys = { accessKey: accessKey.trim(), secretKey: secretKey.trim() };
  const session: Session = { token, method: 'keys', expiresAt: Date.now() + expireS * 1000, me };
  setSession(session);
  scheduleRenewal(session, expireS * 1000);
}

/** Signs in with a token from elsewhere (it is not renewed). */
export async function signInWithToken(token: string): Promise<void> {
  const me = await fetchMe(token.trim());
  keys = null;
  clearTimeout(renewTimer);
  setSession({ token: token.trim(), method: 'token', expiresAt: null, me });
}

/** Reloads what the account is (its grants may have changed). */
export async function refreshMe(): Promise<void> {
  const current = getSessionState().session;
  if (!current) return;
  const me = await fetchMe(current.token);
  if (getSessionState().session?.token === current.token) setSession({ ...current, me });
}

/** Whether the session renews itself (signed in with keys in this tab). */
export function isRenewable(): boolean {
  return keys !== null;
}

/** Signs out: forgets the token and the keys. */
export function signOut(): void {
  keys = null;
  clearTimeout(renewTimer);
  endSession(null);
}
