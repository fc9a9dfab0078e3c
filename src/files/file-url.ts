import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed file links: short-lived URLs that work without a token. The token is
 * `<base64url(JSON claims)>.<base64url(HMAC-SHA256)>`, only [A-Za-z0-9_.-], so it survives the
 * unencoded query strings and paths EnOS clients write. The key is derived from the master key
 * (SECRET_ENCRYPTION_KEY), so every instance on the same database verifies every link.
 */

/** What a link allows: read a device file, write an announced (Lark) file, read a firmware package. */
export type FileLinkPurpose = 'download' | 'upload' | 'ota';

/** The signed claims of a link. */
export interface FileLinkClaims {
  readonly purpose: FileLinkPurpose;
  readonly orgId: string;
  /** The device of a device file; the product id of a firmware package. */
  readonly ownerId: number;
  /** files.id, or firmware_packages.id for `ota`. */
  readonly fileId: number;
  /** Expiry, epoch seconds. */
  readonly exp: number;
}

/** Why a link was refused. */
export type FileLinkRefusal = 'invalid' | 'expired';

/** Signs and verifies file links. */
export interface FileLinkSigner {
  /** Default lifetime of a link, seconds (FILE_URL_TTL_S). */
  readonly ttlS: number;
  /** A token for `claims`, valid for {@link ttlS} seconds from `nowMs`. */
  sign(claims: Omit<FileLinkClaims, 'exp'>, nowMs?: number): { readonly token: string; readonly expiresAt: Date };
  /** The claims of a token signed for `purpose`, or why it is refused. */
  verify(token: string, purpose: FileLinkPurpose, nowMs?: number): FileLinkClaims | FileLinkRefusal;
}

/** Context string of the key derivation, so that the link key never equals the secret-box key. */
const KEY_CONTEXT = 'tributary file links v1';

/** Creates a signer whose key is HMAC-SHA256(masterKey, context). */
export function createFileLinkSigner(masterKey: Buffer, ttlS: number): FileLinkSigner {
  const key = createHmac('sha256', masterKey).update(KEY_CONTEXT).digest();
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest();
  return {
    ttlS,
    sign(claims, nowMs = Date.now()) {
      const exp = Math.floor(nowMs / 1000) + ttlS;
      const payload = Buffer.from(JSON.stringify({ p: claims.purpose, o: claims.orgId, w: claims.ownerId, f: claims.fileId, e: exp })).toString('base64url');
      return { token: `${payload}.${mac(payload).toString('base64url')}`, expiresAt: new Date(exp * 1000) };
    },
    verify(token, purpose, nowMs = Date.now()) {
      const dot = token.indexOf('.');
      if (dot <= 0 || token.length > 2048) return 'invalid';
      const payload = token.slice(0, dot);
      const given = Buffer.from(token.slice(dot + 1), 'base64url');
      const expected = mac(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
      let c: { p?: unknown; o?: unknown; w?: unknown; f?: unknown; e?: unknown };
      try {
        c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof c;
      } catch {
        return 'invalid';
      }
      if (c.p !== purpose || typeof c.o !== 'string' || !Number.isSafeInteger(c.w) || !Number.isSafeInteger(c.f) || !Number.isSafeInteger(c.e)) return 'invalid';
      if ((c.e as number) * 1000 <= nowMs) return 'expired';
      return { purpose, orgId: c.o, ownerId: c.w as number, fileId: c.f as number, exp: c.e as number };
    },
  };
}

/** Path of the signed-link routes; the token follows. */
export const FILE_LINK_PATH = '/signed-files/';
