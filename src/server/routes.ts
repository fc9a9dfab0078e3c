import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log';
import type { AppDeps } from './deps';

/** What a plain HTTP route handler receives besides req/res. */
export interface RouteContext {
  readonly deps: AppDeps;
  readonly requestId: string;
  readonly log: Logger;
  readonly url: URL;
}

/** A non-GraphQL HTTP route (token service, REST shim, file download). */
export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  /** Exact path, or a prefix when it ends with `/*`. */
  readonly path: string;
  handle(req: IncomingMessage, res: ServerResponse, rc: RouteContext): Promise<void>;
}

/** Finds the route for a method and path. */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): Route | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  return routes.find((r) => r.method === m && (r.path.endsWith('/*') ? pathname.startsWith(r.path.slice(0, -1)) : r.path === pathname));
}

/** Whether any route serves this path (for 405 rather than 404). */
export function pathExists(routes: readonly Route[], pathname: string): boolean {
  return routes.some((r) => (r.path.endsWith('/*') ? pathname.startsWith(r.path.slice(0, -1)) : r.path === pathname));
}
