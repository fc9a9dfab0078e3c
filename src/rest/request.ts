import type { IncomingMessage } from 'node:http';
import { Access } from '../auth/permissions';
import { Speculation } from '../auth/speculation';
import { authenticate, tokenConfirmation, tokenFromHeaders } from '../server/authenticate';
import { badText } from '../server/input-guard';
import type { RouteContext } from '../server/routes';
import { EnosCode, EnosError, badRequest } from './envelope';

/** APIM codes used in the body of a 401 (reference 1.3): empty parameter, expired/invalid token. */
const TOKEN_MISSING = 1202;
const TOKEN_INVALID = 1203;

/**
 * A query parameter, percent-decoded, or undefined when absent or empty. The SDK writes its
 * query strings unencoded (`fileUri=enos-connect://a.txt`), which WHATWG parsing keeps
 * intact; encoded forms (`enos-connect%3A%2F%2Fa.txt`) decode to the same value.
 */
export function queryParam(url: URL, name: string): string | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v.trim() === '') return undefined;
  const why = badText(v);
  if (why) throw badRequest(`Invalid Argument ${name}: ${why}`);
  return v.trim();
}

/**
 * The caller of a shim request, from `apim-accesstoken` (or `Authorization: Bearer`). A
 * missing, invalid or expired token is HTTP 401 (the SDK reports the status).
 */
export async function authenticateRequest(req: IncomingMessage, rc: RouteContext): Promise<Access> {
  const token = tokenFromHeaders(req.headers);
  if (!token) throw new EnosError(TOKEN_MISSING, 'a valid access token is required in the apim-accesstoken header', 401);
  const access = await authenticate(rc.deps, token);
  if (!access.caller) throw new EnosError(TOKEN_INVALID, 'the access token is invalid, expired or revoked', 401);
  return access;
}

/** The caller of an ingest request: remembered (confirmed later, see {@link authenticateIngest}) or checked now. */
export interface IngestAuthentication {
  readonly access: Access;
  /** Set when the caller was remembered: the ingest mutation confirms it in its write transaction. */
  readonly speculation: Speculation | null;
}

/**
 * The caller of a shim ingest request. PERF: a token this instance has seen gives the caller as
 * last confirmed, at once; the ingest mutation confirms it inside its write transaction before
 * anything is written (auth/speculation.ts, deferred), and the caller of an answer given
 * without writing is confirmed by {@link confirmedAuthentication}. Otherwise as {@link authenticateRequest}.
 */
export async function authenticateIngest(req: IncomingMessage, rc: RouteContext): Promise<IngestAuthentication> {
  const token = tokenFromHeaders(req.headers);
  const cached = token ? rc.deps.speculation.callers.get(token) : undefined;
  const confirmation = token && cached ? tokenConfirmation(rc.deps, token, cached) : null;
  if (!cached || !confirmation) return { access: await authenticateRequest(req, rc), speculation: null };
  const speculation = new Speculation(rc.deps.db, rc.deps.speculation.facts, true);
  speculation.confirm(confirmation);
  return { access: new Access(cached, speculation), speculation };
}

/**
 * Whether the remembered caller of `auth` held for everything done with it (null when it was
 * checked at once); when it did not, the caller as the database has it now (401 when the token
 * is no longer valid).
 */
export async function confirmedAuthentication(req: IncomingMessage, rc: RouteContext, auth: IngestAuthentication): Promise<Access | null> {
  if (!auth.speculation || (await auth.speculation.holds())) return null;
  return authenticateRequest(req, rc);
}

/**
 * Checks the mandatory `orgId` parameter against the caller's organisation. Another
 * organisation, existing or not, is answered exactly like an unknown one (99404), so that
 * nothing about other organisations can be learnt.
 */
export function requireOrg(access: Access, url: URL, notFoundStatus = 200): string {
  const orgId = queryParam(url, 'orgId');
  if (!orgId) throw badRequest('Invalid Argument orgId: the orgId parameter is required');
  if (orgId !== access.requireCaller().orgId) throw new EnosError(EnosCode.NOT_FOUND, `organization not found: ${orgId}`, notFoundStatus);
  return orgId;
}

/** A device named by query parameters: assetId, or productKey + deviceKey. */
export type DeviceParams = { readonly assetId: string } | { readonly productKey: string; readonly deviceKey: string };

/** Reads `assetId` or `productKey`+`deviceKey` from the query string; 99400 when neither is complete. */
export function deviceFromQuery(url: URL): DeviceParams {
  const assetId = queryParam(url, 'assetId');
  if (assetId) return { assetId };
  const productKey = queryParam(url, 'productKey');
  const deviceKey = queryParam(url, 'deviceKey');
  if (productKey && deviceKey) return { productKey, deviceKey };
  throw badRequest('Invalid Argument: give assetId, or productKey and deviceKey');
}
