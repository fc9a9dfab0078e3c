import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../server/http-util';
import type { Route, RouteContext } from '../server/routes';
import { badRequest, EnosCode, enosErrorOf } from './envelope';
import { authenticateRequest, deviceFromQuery, queryParam, requireOrg } from './request';
import { sendShimError } from './shim-error';

const LATEST = `query EnosQueryLatest($devices: DeviceSelector!, $points: [String!]) {
  latestValues(devices: $devices, points: $points) { point time value } }`;

/**
 * `POST /connect-service/v2.1/measurepoints?action=queryLatest&orgId&(assetId | productKey&deviceKey)`
 * with an optional body `{"measurepointIds": [...]}`: the latest real-time values through
 * `latestValues`, as `data: [{id, time: "<ms>", value}]` (EnOS writes `time` as a string).
 */
async function handleMeasurepoints(req: IncomingMessage, res: ServerResponse, rc: RouteContext): Promise<void> {
  try {
    const access = await authenticateRequest(req, rc);
    requireOrg(access, rc.url);
    if (queryParam(rc.url, 'action') !== 'queryLatest') throw badRequest('Invalid Argument action: expected queryLatest');
    const device = deviceFromQuery(rc.url);
    let body: unknown;
    try {
      const raw = await readBody(req, rc.deps.config.REQUEST_BODY_MAX_BYTES);
      body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    } catch {
      throw badRequest('the request body must be JSON');
    }
    const ids = (body as { measurepointIds?: unknown } | null)?.measurepointIds;
    if (ids !== undefined && ids !== null && (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string'))) throw badRequest('measurepointIds must be an array of strings');
    const out = await rc.deps.executeGraphQL(LATEST, { devices: { devices: [device] }, ...(Array.isArray(ids) && ids.length ? { points: ids } : {}) }, access, rc.requestId);
    if (out.errors?.length) throw enosErrorOf(out.errors);
    const rows = (out.data?.['latestValues'] ?? []) as { point: string; time: number; value: unknown }[];
    sendJson(res, 200, { code: EnosCode.OK, msg: 'OK', requestId: rc.requestId, data: rows.map((r) => ({ id: r.point, time: String(r.time), value: r.value })) });
  } catch (e) {
    sendShimError(res, rc, e);
  }
}

/** The connection service's measurement-point read route. */
export const measurepointRoutes: readonly Route[] = [{ method: 'POST', path: '/connect-service/v2.1/measurepoints', handle: handleMeasurepoints }];
