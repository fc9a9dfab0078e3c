import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from '../auth/permissions';
import { toSafeError } from '../errors';
import { getDevicesByAssetIds } from '../registry/devices';
import { findBadInput } from '../server/input-guard';
import { readBody, sendJson } from '../server/http-util';
import type { Route, RouteContext } from '../server/routes';
import { EnosError, TsdbCode, type GraphQLErrorLike } from './envelope';
import { authenticateRequest, queryParam } from './request';

/** A TSDB refusal: 80400 invalid parameter. */
export const tsdbBad = (message: string) => new EnosError(TsdbCode.BAD_REQUEST, message);

/** Maps the first GraphQL error of a query onto a TSDB code: 80401 for any device the caller may not read (unknown included). */
export function tsdbErrorOf(errors: readonly GraphQLErrorLike[]): EnosError {
  const first = errors[0];
  const code = first?.extensions?.['code'];
  if (code === 'FORBIDDEN' || code === 'NOT_FOUND') return new EnosError(TsdbCode.FORBIDDEN, first?.message ?? 'asset unauthorized');
  if (code === 'INTERNAL_SERVER_ERROR' || code === undefined) return new EnosError(TsdbCode.INTERNAL, first?.message ?? 'internal error', 500);
  if (code === 'SERVICE_UNAVAILABLE') return new EnosError(TsdbCode.UNAVAILABLE, first?.message ?? 'service unavailable', 503);
  if (code === 'RATE_LIMITED') return new EnosError(TsdbCode.RATE_LIMITED, first?.message ?? 'too many requests', 429);
  return new EnosError(TsdbCode.BAD_REQUEST, first?.message ?? 'invalid parameter');
}

/** A comma-separated id list (or a JSON array of ids); 80400 when required and empty. */
export function idList(v: unknown, name: string): string[] {
  const parts = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : [];
  const out = [...new Set(parts.map((s) => s.trim()).filter(Boolean))];
  if (!out.length) throw tsdbBad(`${name} is required (comma-separated ids)`);
  return out;
}

/** A boolean given as true/false or "true"/"false". */
export function flag(v: unknown): boolean {
  return v === true || v === 'true';
}

/** An integer given as a number or a numeric string ("" or absent: `def`), within [min, max]. */
export function intParam(v: unknown, name: string, def: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined || v === null || v === '') return def;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw tsdbBad(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** What a TSDB handler receives. */
export interface TsdbCall {
  readonly access: Access;
  readonly body: Readonly<Record<string, unknown>>;
  readonly rc: RouteContext;
  /** Timezone of each listed device ('+00:00' for unknown ones; those fail in the query anyway). */
  timezones(assetIds: readonly string[]): Promise<Map<string, string>>;
}

function send(res: ServerResponse, rc: RouteContext, code: number, msg: string, data: unknown, status = 200) {
  sendJson(res, status, { code, msg, submsg: null, requestId: rc.requestId, data });
}

/**
 * A `POST /tsdb-service/v2.1/<path>?orgId=` route: every parameter but orgId in the JSON body,
 * answered `{code, msg, submsg, requestId, data: {items}}` with TSDB codes (80400 invalid
 * parameter, 80401 no access to the asset or organisation, 80500 internal); 401 for a bad token.
 */
export function tsdbRoute(path: string, run: (call: TsdbCall) => Promise<Record<string, unknown>[]>): Route {
  return {
    method: 'POST',
    path: `/tsdb-service/v2.1/${path}`,
    async handle(req: IncomingMessage, res: ServerResponse, rc: RouteContext) {
      try {
        const access = await authenticateRequest(req, rc);
        const orgId = queryParam(rc.url, 'orgId');
        if (!orgId) throw tsdbBad('orgId is required');
        if (orgId !== access.requireCaller().orgId) throw new EnosError(TsdbCode.FORBIDDEN, `asset unauthorized: organization ${orgId}`);
        let body: unknown;
        try {
          const raw = await readBody(req, rc.deps.config.REQUEST_BODY_MAX_BYTES);
          body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
        } catch {
          throw tsdbBad('the request body must be a JSON object');
        }
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw tsdbBad('the request body must be a JSON object');
        const bad = findBadInput(body, 'body');
        if (bad) throw tsdbBad(bad);
        const timezones = async (assetIds: readonly string[]) => {
          const found = await getDevicesByAssetIds(rc.deps.db, orgId, assetIds);
          const m = new Map(found.map((d) => [d.assetId, d.timezone]));
          return new Map(assetIds.map((a) => [a, m.get(a) ?? '+00:00']));
        };
        const items = await run({ access, body: body as Record<string, unknown>, rc, timezones });
        send(res, rc, TsdbCode.OK, 'OK', { items });
      } catch (e) {
        if (res.headersSent) return void res.destroy();
        if (e instanceof EnosError) return send(res, rc, e.code, e.message, null, e.httpStatus);
        const safe = toSafeError(e, rc.log);
        if (safe.code === 'INTERNAL_SERVER_ERROR') return send(res, rc, TsdbCode.INTERNAL, safe.message, null, 500);
        const err = tsdbErrorOf([{ message: safe.message, extensions: { code: safe.code } }]);
        send(res, rc, err.code, err.message, null, err.httpStatus);
      }
    },
  };
}
