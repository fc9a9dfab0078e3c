import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { packagePath } from '../package-root';

/**
 * The page a browser gets at GET /graphql: a small query form served from the package itself
 * (public/), no CDN, under a Content-Security-Policy that allows only same-origin scripts and
 * styles and no inline code. Its assets are under /graphql/assets/.
 */

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ASSETS: Record<string, { readonly file: string; readonly type: string }> = {
  '/graphql/assets/explorer.js': { file: 'explorer.js', type: 'text/javascript; charset=utf-8' },
  '/graphql/assets/explorer.css': { file: 'explorer.css', type: 'text/css; charset=utf-8' },
};

/** Path prefix of the page's assets. */
export const LANDING_ASSETS_PREFIX = '/graphql/assets/';

const cache = new Map<string, Buffer>();
function read(file: string): Buffer {
  let b = cache.get(file);
  if (!b) cache.set(file, (b = readFileSync(packagePath('public', file))));
  return b;
}

function send(res: ServerResponse, type: string, body: Buffer, head: boolean): void {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' });
  res.end(head ? undefined : body);
}

/** Whether a GET /graphql asks for the page: a browser navigation (HTML accepted) with no operation. */
export function wantsLandingPage(req: IncomingMessage, url: URL): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (url.searchParams.has('query')) return false;
  const accept = String(req.headers.accept ?? '');
  return accept.includes('text/html');
}

/** Serves the page. */
export function serveLandingPage(req: IncomingMessage, res: ServerResponse): void {
  send(res, 'text/html; charset=utf-8', read('graphql.html'), req.method === 'HEAD');
}

/** Serves one of the page's assets; false when `pathname` is none of them. */
export function serveLandingAsset(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
  const asset = ASSETS[pathname];
  if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  send(res, asset.type, read(asset.file), req.method === 'HEAD');
  return true;
}
