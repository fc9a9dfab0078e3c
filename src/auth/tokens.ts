import { and, eq, gt, isNull, lt, sql, type SQL } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { queryRows, type Db, type DbOrTx } from '../storage/db';
import { accessTokens, serviceAccounts, tokenNonces } from '../storage/schema/index';
import type { Caller, Grant } from './permissions';
import { randomHex, sha256Hex, type SecretBox } from './secret-box';

/** EnOS APIM token status codes (reference 1.3). */
export const TokenStatus = {
  OK: 0,
  REPLAY: 1001,
  UNKNOWN_APP_KEY: 1002,
  BAD_SIGNATURE: 1003,
  INVALID_PARAMETER: 1004,
  INTERNAL: 1005,
  EMPTY_PARAMETER: 1202,
  TOKEN_EXPIRED: 1203,
  REFRESH_FAILED: 1204,
} as const;

/** A refused token request, with its EnOS status code. */
export class TokenError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Token settings, from config. */
export interface TokenSettings {
  readonly ttlS: number;
  readonly skewMs: number;
  /** A repeated signature inside this window is a duplicate, not a replay (SDK race). */
  readonly duplicateWindowMs: number;
}

/**
 * The shortest remaining life of a token that get/refresh hand out again instead of minting a
 * new one: half the TTL, and always above the EnOS SDK's 10-minute refresh margin when the TTL
 * allows (with `expire` <= 600 the SDK would refresh before every call).
 */
export function reuseMinS(ttlS: number): number {
  return Math.max(Math.floor(ttlS / 2), Math.min(ttlS - 30, 660));
}

const requestSchema = z.object({
  appKey: z.string(),
  encryption: z.string(),
  timestamp: z.union([z.string(), z.number()]),
  accessToken: z.string().optional(),
});

/** A parsed token request; `timestamp` is kept in the text form the client signed. */
export interface TokenRequest {
  readonly appKey: string;
  readonly encryption: string;
  readonly timestamp: string;
  readonly accessToken?: string | undefined;
}

/** Validates the JSON body of token/get and token/refresh. */
export function parseTokenRequest(body: unknown, needsToken: boolean): TokenRequest {
  const p = requestSchema.safeParse(body);
  if (!p.success) {
    const missing = body && typeof body === 'object' ? ['appKey', 'encryption', 'timestamp'].filter((k) => !(k in body)) : ['appKey', 'encryption', 'timestamp'];
    if (missing.length) throw new TokenError(TokenStatus.EMPTY_PARAMETER, `missing parameter: ${missing.join(', ')}`);
    throw new TokenError(TokenStatus.INVALID_PARAMETER, 'invalid parameter types');
  }
  const { appKey, encryption, accessToken } = p.data;
  // NOTE: the signature covers the timestamp exactly as the client wrote it.
  const timestamp = typeof p.data.timestamp === 'number' ? String(p.data.timestamp) : p.data.timestamp;
  if (!appKey || !encryption || !timestamp) throw new TokenError(TokenStatus.EMPTY_PARAMETER, 'empty parameter');
  if (!/^\d{1,16}$/.test(timestamp)) throw new TokenError(TokenStatus.INVALID_PARAMETER, 'timestamp must be epoch milliseconds');
  if (!/^[0-9a-fA-F]{64}$/.test(encryption)) throw new TokenError(TokenStatus.BAD_SIGNATURE, 'encryption does not verify');
  if (needsToken && !accessToken) throw new TokenError(TokenStatus.EMPTY_PARAMETER, 'missing parameter: accessToken');
  return { appKey, encryption: encryption.toLowerCase(), timestamp, accessToken };
}

/** The EnOS signature: lowercase hex SHA-256 over appKey + timestamp + secret. */
export function signTokenRequest(appKey: string, timestamp: string, secret: string): string {
  return sha256Hex(appKey + timestamp + secret);
}

/** An issued token and its remaining life in whole seconds. */
export interface IssuedToken {
  readonly accessToken: string;
  readonly expire: number;
}

async function verifyRequest(db: Db, box: SecretBox, s: TokenSettings, req: TokenRequest, now: Date) {
  const [sa] = await db.select().from(serviceAccounts).where(eq(serviceAccounts.accessKey, req.appKey));
  if (!sa) throw new TokenError(TokenStatus.UNKNOWN_APP_KEY, 'unknown appKey');
  if (!sa.enabled) throw new TokenError(TokenStatus.UNKNOWN_APP_KEY, 'service account is disabled');
  const expected = signTokenRequest(req.appKey, req.timestamp, box.open(sa.secretEnc));
  if (expected !== req.encryption) throw new TokenError(TokenStatus.BAD_SIGNATURE, 'encryption does not verify');
  if (Math.abs(Number(req.timestamp) - now.getTime()) > s.skewMs) throw new TokenError(TokenStatus.INVALID_PARAMETER, 'timestamp is outside the allowed clock skew');
  // Replay check: the first sighting wins; a repeat shortly after is the SDK's duplicate get.
  await db.delete(tokenNonces).where(lt(tokenNonces.seenAt, new Date(now.getTime() - 2 * s.skewMs)));
  const inserted = await db.insert(tokenNonces).values({ encryption: req.encryption, seenAt: now }).onConflictDoNothing().returning();
  if (!inserted.length) {
    const [seen] = await db.select().from(tokenNonces).where(eq(tokenNonces.encryption, req.encryption));
    if (seen && now.getTime() - seen.seenAt.getTime() > s.duplicateWindowMs) throw new TokenError(TokenStatus.REPLAY, 'this signature was already used');
  }
  return sa;
}

async function mint(db: Db, box: SecretBox, sa: { id: number; epoch: number }, ttlS: number, now: Date): Promise<IssuedToken> {
  const token = `tok-${randomHex(16)}`;
  await db.insert(accessTokens).values({ tokenHash: sha256Hex(token), saId: sa.id, epoch: sa.epoch, tokenEnc: box.seal(token), expiresAt: new Date(now.getTime() + ttlS * 1000), createdAt: now });
  return { accessToken: token, expire: ttlS };
}

/** The SA's newest unreplaced token with at least {@link reuseMinS} to live, if any. */
async function reusableToken(tx: DbOrTx, box: SecretBox, s: TokenSettings, sa: { id: number; epoch: number }, now: Date): Promise<IssuedToken | undefined> {
  const [current] = await tx
    .select()
    .from(accessTokens)
    .where(and(eq(accessTokens.saId, sa.id), eq(accessTokens.epoch, sa.epoch), isNull(accessTokens.replacedAt), gt(accessTokens.expiresAt, new Date(now.getTime() + reuseMinS(s.ttlS) * 1000))))
    .orderBy(sql`${accessTokens.expiresAt} desc`)
    .limit(1);
  return current ? { accessToken: box.open(current.tokenEnc), expire: Math.floor((current.expiresAt.getTime() - now.getTime()) / 1000) } : undefined;
}

/**
 * token/get: returns the SA's current token while it has at least {@link reuseMinS} to live
 * (EnOS: "asking again returns the same token"; the SDK's concurrent gets agree), otherwise
 * a new one.
 */
export async function getToken(db: Db, box: SecretBox, s: TokenSettings, req: TokenRequest, now = new Date()): Promise<IssuedToken> {
  return db.transaction(async (tx) => {
    const sa = await verifyRequest(tx as unknown as Db, box, s, req, now);
    // Serialise concurrent gets of one SA so that both receive the same token.
    await queryRows(tx, sql`select pg_advisory_xact_lock(72626, ${sa.id}::int)`);
    return (await reusableToken(tx, box, s, sa, now)) ?? mint(tx as unknown as Db, box, sa, s.ttlS, now);
  });
}

/**
 * token/refresh: the given token must belong to the SA and still be valid. While the SA's
 * current token is young (the SDK refreshes right after its first get) that token is returned
 * unchanged; otherwise a new one is issued. A replaced token keeps the lifetime it was
 * announced with: the SDK never reacts to a 401, and its get/refresh threads can leave it
 * holding the older token.
 */
export async function refreshToken(db: Db, box: SecretBox, s: TokenSettings, req: TokenRequest, now = new Date()): Promise<IssuedToken> {
  return db.transaction(async (tx) => {
    const sa = await verifyRequest(tx as unknown as Db, box, s, req, now);
    await queryRows(tx, sql`select pg_advisory_xact_lock(72626, ${sa.id}::int)`);
    const [old] = await tx.select().from(accessTokens).where(eq(accessTokens.tokenHash, sha256Hex(req.accessToken ?? '')));
    if (!old || old.saId !== sa.id || old.epoch !== sa.epoch) throw new TokenError(TokenStatus.REFRESH_FAILED, 'unknown access token');
    if (old.expiresAt <= now) throw new TokenError(TokenStatus.TOKEN_EXPIRED, 'the access token has expired');
    const reusable = await reusableToken(tx, box, s, sa, now);
    if (reusable) return reusable;
    await tx.update(accessTokens).set({ replacedAt: now }).where(and(eq(accessTokens.saId, sa.id), isNull(accessTokens.replacedAt)));
    // Expired rows are kept only for a day; they are useless after that.
    await tx.delete(accessTokens).where(and(eq(accessTokens.saId, sa.id), lt(accessTokens.expiresAt, new Date(now.getTime() - 86_400_000))));
    return mint(tx as unknown as Db, box, sa, s.ttlS, now);
  });
}

/** A row of {@link callerSql}. */
export interface CallerRow {
  readonly sa_id: number;
  readonly org_id: string;
  readonly access_key: string;
  readonly grants: unknown;
}

/** Whether `token` could be a token at all (one longer than any issued is not looked up). */
export const isPlausibleToken = (token: string): boolean => !!token && token.length <= 200;

/**
 * The lookup of a token's caller: one row when the token is known and unexpired and its SA
 * enabled and not rotated since; none otherwise (null for a token that cannot be one).
 *
 * PERF: one raw statement (no query builder per request), the expiry compared in SQL (no Date
 * parsed per request).
 */
export function callerSql(token: string, now = new Date()): SQL | null {
  if (!isPlausibleToken(token)) return null;
  return sql`select s.id as sa_id, s.org_id, s.access_key, s.grants
        from access_tokens a join service_accounts s on s.id = a.sa_id and s.epoch = a.epoch and s.enabled
        where a.token_hash = ${presentedTokenHash(token)} and a.expires_at > ${now.toISOString()}::timestamptz`;
}

/** Hashes of the tokens presented lately. PERF: a device presents the same token with every request. */
const presentedHashes = new LRUCache<string, string>({ max: 10_000 });

function presentedTokenHash(token: string): string {
  let hash = presentedHashes.get(token);
  if (hash === undefined) {
    hash = sha256Hex(token);
    presentedHashes.set(token, hash);
  }
  return hash;
}

/**
 * A one-value boolean query: whether the {@link callerSql} query of a token still finds `caller`,
 * with the same grants (as sameCaller in speculation.ts compares them; grants compare as JSON values).
 */
export function callerHoldsSql(callerQuery: SQL, caller: Caller): SQL {
  return sql`exists (select 1 from (${callerQuery}) as c
    where c.sa_id = ${caller.saId} and c.org_id = ${caller.orgId} and c.access_key = ${caller.accessKey} and c.grants = ${JSON.stringify(caller.grants)}::jsonb)`;
}

/** The caller of a {@link callerSql} row (grants come as JSON text from some drivers). */
export function toCaller(r: CallerRow): Caller {
  const grants = typeof r.grants === 'string' ? (JSON.parse(r.grants) as Grant[]) : (r.grants as Grant[]);
  return { orgId: r.org_id, saId: r.sa_id, accessKey: r.access_key, grants };
}

/**
 * Resolves a bearer token to its caller, or null when it is unknown, expired or revoked (SA
 * disabled, rotated or deleted). A token replaced by a refresh stays valid until its own
 * expiry (EnOS: the server honours the lifetime it announced). One indexed lookup per
 * request, so a revocation takes effect at once on every instance.
 */
export async function verifyToken(db: Db, token: string, now = new Date()): Promise<Caller | null> {
  const query = callerSql(token, now);
  if (!query) return null;
  const [r] = await queryRows<CallerRow>(db, query);
  return r ? toCaller(r) : null;
}
