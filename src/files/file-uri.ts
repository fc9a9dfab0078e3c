import { randomBytes } from 'node:crypto';

/** Scheme of stored file URIs (EnOS `FileScheme`). */
export const FILE_URI_SCHEME = 'enos-connect://';

/** Characters a file URI may hold: they survive an unencoded query string (EnOS clients send `fileUri=` raw). */
export const FILE_URI_RE = /^enos-connect:\/\/[A-Za-z0-9_-]{16}\/[A-Za-z0-9._~-]{1,100}$/;

/**
 * A harmless file name: only [A-Za-z0-9._~-], no leading dots (so no `..` or hidden names),
 * at most 100 characters, `file` when nothing is left. Path separators become `_`.
 */
export function safeFileName(name: string): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._~-]+/g, '_')
    .replace(/^[._~-]+/, '')
    .slice(-100);
  return cleaned.replace(/^[._~-]+/, '') || 'file';
}

/** A new unique, stable URI: `enos-connect://<16 random url-safe chars>/<safe name>`. */
export function makeFileUri(name: string): string {
  return `${FILE_URI_SCHEME}${randomBytes(12).toString('base64url')}/${safeFileName(name)}`;
}

/** The URI a download path names (`/files/<key>/<name>` -> `enos-connect://<key>/<name>`), or undefined. */
export function uriFromDownloadPath(rest: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return undefined;
  }
  const uri = decoded.startsWith(FILE_URI_SCHEME) ? decoded : `${FILE_URI_SCHEME}${decoded}`;
  return FILE_URI_RE.test(uri) ? uri : undefined;
}
