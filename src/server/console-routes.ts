import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { packagePath } from '../package-root';
import type { Route } from './routes';

/**
 * The browser console at /console: a single-page application built from console/ into
 * dist/console by `npm ci` (scripts/build-console.mjs). It talks only to the public GraphQL API,
 * graphql-ws and the file routes, with the signed-in service account's token, so it holds no
 * privileges of its own. Served under a Content-Security-Policy that allows no inline script.
 */

/** Path prefix of the console. */
export const CONSOLE_PATH = '/console';

/** Where the built console lives in the package. */
const CONSOLE_DIR = packagePath('dist', 'console');

/** Hashed asset names Vite writes: letters, digits, dots, dashes and underscores only. */
const ASSET_NAME = /^[\w.-]{1,200}$/;

/** A Host header fit to be echoed in the CSP (no spaces, quotes or semicolons). */
const SAFE_HOST = /^[A-Za-z0-9.:[\]-]{1,255}$/;

/** How long browsers keep a hashed asset: a year (its name changes when its content does). */
const IMMUTABLE_MAX_AGE_S = 31_536_000;

const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  json: 'application/json; charset=utf-8',
  map: 'application/json; charset=utf-8',
};

/**
 * The console's Content-Security-Policy: scripts, styles and fonts from the same origin only (no
 * inline code), API calls to the same origin over HTTP and WebSocket, images also from blob: and
 * data: URLs (file previews are fetched with the token and shown as blob: URLs).
 */
export function consoleCsp(host: string | undefined): string {
  const ws = host && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "object-src 'none'",
    "frame-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const gzipCache = new Map<string, Buffer>();

function sendBody(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer, cacheControl: string, cacheKey?: string): void {
  const headers: Record<string, string | number> = {
    'content-type': type,
    'content-security-policy': consoleCsp(req.headers.host),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': cacheControl,
    vary: 'accept-encoding',
  };
  let payload = body;
  if (cacheKey && body.length > 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    let gz = gzipCache.get(cacheKey);
    if (!gz) gzipCache.set(cacheKey, (gz = gzipSync(body)));
    payload = gz;
    headers['content-encoding'] = 'gzip';
  }
  headers['content-length'] = payload.length;
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : payload);
}

/** The page served when the console was not built (an install without dev dependencies). */
function notBuiltPage(): Buffer {
  return Buffer.from(
    '<!doctype html><meta charset="utf-8"><title>Tributary console</title>' +
      '<h1>The console is not built</h1>' +
      '<p>This installation has no console: it was installed without its build tools (for example with <code>npm ci --omit=dev</code>).</p>' +
      '<p>In the installation folder, run <code>npm ci</code> (which builds it), or <code>npm run build</code> after installing the dev dependencies, then reload this page.</p>' +
      '<p>The GraphQL API at <a href="/graphql">/graphql</a> works without it.</p>\n',
  );
}

function serveIndex(req: IncomingMessage, res: ServerResponse): void {
  const file = `${CONSOLE_DIR}/index.html`;
  if (!existsSync(file)) return sendBody(req, res, 404, 'text/html; charset=utf-8', notBuiltPage(), 'no-cache');
  // NOTE: read on every request (it is small): after a rebuild it names the new hashed assets.
  sendBody(req, res, 200, 'text/html; charset=utf-8', readFileSync(file), 'no-cache');
}

const assetCache = new Map<string, Buffer>();

function serveAsset(req: IncomingMessage, res: ServerResponse, name: string): void {
  const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
  const file = `${CONSOLE_DIR}/assets/${name}`;
  if (!ASSET_NAME.test(name) || name.startsWith('.') || !type || (!assetCache.has(name) && !existsSync(file))) {
    return sendBody(req, res, 404, 'text/plain; charset=utf-8', Buffer.from('no such asset\n'), 'no-cache');
  }
  let body = assetCache.get(name);
  if (!body) assetCache.set(name, (body = readFileSync(file)));
  sendBody(req, res, 200, type, body, `public, max-age=${IMMUTABLE_MAX_AGE_S}, immutable`, name);
}

/** GET /console (redirects to /console/), /console/assets/<hashed name>, and the page for every other path under /console/. */
export const consoleRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: CONSOLE_PATH,
    async handle(_req, res) {
      res.writeHead(308, { location: `${CONSOLE_PATH}/`, 'content-length': 0 });
      res.end();
    },
  },
  {
    method: 'GET',
    path: `${CONSOLE_PATH}/*`,
    async handle(req, res, rc) {
      const rest = rc.url.pathname.slice(CONSOLE_PATH.length + 1);
      if (rest.startsWith('assets/')) return serveAsset(req, res, rest.slice('assets/'.length));
      // Every other path is the application: it routes in the browser.
      serveIndex(req, res);
    },
  },
];
