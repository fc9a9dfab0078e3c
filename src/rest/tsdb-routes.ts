import type { Route } from '../server/routes';
import { toItems, type TsdbValue } from './tsdb-items';
import { flag, idList, intParam, tsdbBad, tsdbErrorOf, tsdbRoute, type TsdbCall } from './tsdb-request';
import { instantOf, parseTsdbTime, type LocalTimeStyle, type TsdbTime } from './tsdb-time';

/** EnOS bound on devices x points x pageSize of one call. */
const MAX_ROWS_PER_CALL = 640_000;

const HISTORY = `query EnosTsdbRaw($devices: DeviceSelector!, $points: [String!]!, $from: Timestamp!, $to: Timestamp!, $order: SortOrder, $first: Int, $after: String) {
  pointHistory(devices: $devices, points: $points, from: $from, to: $to, order: $order, first: $first, after: $after) {
    edges { node { assetId point time value quality } } pageInfo { hasNextPage endCursor } } }`;

const AGGREGATES = `query EnosTsdbAggregates($devices: DeviceSelector!, $aggregates: [AggregateInput!]!, $from: Timestamp!, $to: Timestamp!, $interval: String!, $timezone: String) {
  pointAggregates(devices: $devices, aggregates: $aggregates, from: $from, to: $to, interval: $interval, timezone: $timezone) {
    assetId times columns { point function values } } }`;

const LATEST = `query EnosTsdbLatest($devices: DeviceSelector!, $points: [String!], $since: Timestamp) {
  latestValues(devices: $devices, points: $points, since: $since) { assetId point time value quality } }`;

interface PointValueShape {
  readonly assetId: string;
  readonly point: string;
  readonly time: number;
  readonly value: unknown;
  readonly quality: number | null;
}

async function query<T>(call: TsdbCall, document: string, variables: Record<string, unknown>): Promise<T> {
  const out = await call.rc.deps.executeGraphQL(document, variables, call.access, call.rc.requestId);
  if (out.errors?.length) throw tsdbErrorOf(out.errors);
  return out.data as T;
}

function itemFormatOf(body: Readonly<Record<string, unknown>>): 0 | 1 | 2 {
  return intParam(body['itemFormat'], 'itemFormat', 0, 0, 2) as 0 | 1 | 2;
}

function localStyle(body: Readonly<Record<string, unknown>>): LocalTimeStyle {
  return { withMs: flag(body['localTimeAccuracy']), withOffset: intParam(body['localTimeFormat'], 'localTimeFormat', 0, 0, 1) === 1 };
}

function timeRange(body: Readonly<Record<string, unknown>>): { start: TsdbTime; end: TsdbTime } {
  const start = parseTsdbTime(body['startTime'], 'startTime');
  const end = parseTsdbTime(body['endTime'], 'endTime');
  if (start.kind !== end.kind) throw tsdbBad('endTime must use the same format as startTime');
  return { start, end };
}

/**
 * `/raw`: raw values of the points in [startTime, endTime), at most `pageSize` per device and
 * point, through `pointHistory` (one device at a time, pages of QUERY_PAGE_MAX_ROWS).
 */
async function runRaw(call: TsdbCall) {
  const { body } = call;
  const assetIds = idList(body['assetIds'], 'assetIds');
  const pointIds = idList(body['pointIds'], 'pointIds');
  const { start, end } = timeRange(body);
  const pageSize = intParam(body['pageSize'], 'pageSize', 1000, 1, MAX_ROWS_PER_CALL)!;
  if (assetIds.length * pointIds.length * pageSize > MAX_ROWS_PER_CALL) throw tsdbBad(`devices x points x pageSize must not exceed ${MAX_ROWS_PER_CALL}`);
  const orderBy = typeof body['orderBy'] === 'string' ? body['orderBy'].trim().toLowerCase().replace(/\s+/g, ' ') : 'timestamp asc';
  if (orderBy !== 'timestamp asc' && orderBy !== 'timestamp desc') throw tsdbBad('orderBy must be "timestamp asc" or "timestamp desc"');
  const tz = await call.timezones(assetIds);
  const pageMax = call.rc.deps.config.QUERY_PAGE_MAX_ROWS;
  const values: TsdbValue[] = [];
  for (const assetId of assetIds) {
    const from = instantOf(start, tz.get(assetId)!);
    const to = instantOf(end, tz.get(assetId)!);
    if (to <= from) throw tsdbBad('endTime must be after startTime');
    const counts = new Map<string, number>();
    // NOTE: rows of all the device's points interleave by time; reading stops once every point has
    // pageSize rows, or after a budget of 4 x points x pageSize rows so that one dense point cannot
    // make the call unbounded.
    let fetched = 0;
    let after: string | undefined;
    for (;;) {
      const data = await query<{ pointHistory: { edges: { node: PointValueShape }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(call, HISTORY, {
        devices: { assetIds: [assetId] },
        points: pointIds,
        from,
        to,
        order: orderBy === 'timestamp desc' ? 'DESC' : 'ASC',
        first: Math.min(pageMax, pointIds.length * pageSize),
        ...(after ? { after } : {}),
      });
      const page = data.pointHistory;
      for (const { node } of page.edges) {
        const n = counts.get(node.point) ?? 0;
        if (n >= pageSize) continue;
        counts.set(node.point, n + 1);
        values.push({ assetId, key: node.point, time: node.time, value: node.value, quality: node.quality });
      }
      fetched += page.edges.length;
      const full = pointIds.every((p) => (counts.get(p) ?? 0) >= pageSize);
      if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor || full || fetched >= 4 * pointIds.length * pageSize) break;
      after = page.pageInfo.endCursor;
    }
  }
  return toItems(values, { itemFormat: itemFormatOf(body), localTime: localStyle(body), withQuality: flag(body['withQuality']), timezoneOf: (a) => tz.get(a) ?? '+00:00' });
}

const LOGIC_RE = /^(count|avg|sum|max|min|first|last)\(\s*([A-Za-z0-9_.-]{1,128})\s*\)$/i;

/**
 * `/ai-normalized`: `pointIdsWithLogic` like `avg(temp),max(temp)` over `interval`-minute
 * buckets (labelled by their end, as EnOS does); `interval` 0 gives the per-minute normalized
 * series (the last value of each minute, labelled by the minute) of plain point ids.
 */
async function runAiNormalized(call: TsdbCall) {
  const { body } = call;
  const assetIds = idList(body['assetIds'], 'assetIds');
  const interval = intParam(body['interval'], 'interval', undefined, 0, 1440);
  if (interval === undefined) throw tsdbBad('interval is required (minutes, 0-1440)');
  const specs = idList(body['pointIdsWithLogic'], 'pointIdsWithLogic').map((s) => {
    const m = LOGIC_RE.exec(s);
    if (m) {
      if (interval === 0) throw tsdbBad(`interval 0 takes plain point ids, not ${s}`);
      return { key: s, point: m[2]!, fn: m[1]!.toUpperCase() };
    }
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(s)) throw tsdbBad(`invalid pointIdsWithLogic entry: ${s}`);
    if (interval > 0) throw tsdbBad(`with interval > 0 every point needs a function, e.g. avg(${s})`);
    return { key: s, point: s, fn: 'LAST' };
  });
  const { start, end } = timeRange(body);
  const pageSize = intParam(body['pageSize'], 'pageSize', 1000, 1, MAX_ROWS_PER_CALL)!;
  if (assetIds.length * specs.length * pageSize > MAX_ROWS_PER_CALL) throw tsdbBad(`devices x points x pageSize must not exceed ${MAX_ROWS_PER_CALL}`);
  const tz = await call.timezones(assetIds);
  // Local times mean each device's own day: group devices by timezone, buckets aligned to it.
  const groups = new Map<string, string[]>();
  for (const a of assetIds) {
    const key = start.kind === 'local' ? tz.get(a)! : '';
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  const minutes = interval === 0 ? 1 : interval;
  const byDevice = new Map<string, TsdbValue[]>();
  for (const [zone, devices] of groups) {
    const from = instantOf(start, zone || '+00:00');
    const to = instantOf(end, zone || '+00:00');
    if (to <= from) throw tsdbBad('endTime must be after startTime');
    const data = await query<{ pointAggregates: { assetId: string; times: number[]; columns: { values: (number | null)[] }[] }[] }>(call, AGGREGATES, {
      devices: { assetIds: devices },
      aggregates: specs.map((s) => ({ point: s.point, function: s.fn })),
      from,
      to,
      interval: `${minutes} minutes`,
      ...(zone ? { timezone: zone } : {}),
    });
    for (const d of data.pointAggregates) {
      const out: TsdbValue[] = [];
      specs.forEach((s, j) => {
        let n = 0;
        d.times.forEach((t, i) => {
          const v = d.columns[j]?.values[i];
          if (v === null || v === undefined || n >= pageSize) return;
          n++;
          out.push({ assetId: d.assetId, key: s.key, time: interval === 0 ? t : t + interval * 60_000, value: v });
        });
      });
      byDevice.set(d.assetId, out.sort((a, b) => a.time - b.time));
    }
  }
  const values = assetIds.flatMap((a) => byDevice.get(a) ?? []);
  return toItems(values, { itemFormat: itemFormatOf(body), localTime: localStyle(body), withQuality: false, timezoneOf: (a) => tz.get(a) ?? '+00:00' });
}

/** `/latest`: latest real-time value of each point, optionally within `timeWindow` minutes. */
async function runLatest(call: TsdbCall) {
  const { body } = call;
  const assetIds = idList(body['assetIds'], 'assetIds');
  const pointIds = idList(body['pointIds'], 'pointIds');
  const windowMin = intParam(body['timeWindow'], 'timeWindow', undefined, 0, 100_000_000);
  const data = await query<{ latestValues: PointValueShape[] }>(call, LATEST, { devices: { assetIds }, points: pointIds, ...(windowMin !== undefined ? { since: Date.now() - windowMin * 60_000 } : {}) });
  const rank = (a: string, list: readonly string[]) => list.indexOf(a);
  const values = [...data.latestValues]
    .sort((x, y) => rank(x.assetId, assetIds) - rank(y.assetId, assetIds) || rank(x.point, pointIds) - rank(y.point, pointIds))
    .map((v) => ({ assetId: v.assetId, key: v.point, time: v.time, value: v.value, quality: v.quality }));
  const tz = flag(body['ifWithLocalTime']) ? await call.timezones(assetIds) : new Map<string, string>();
  return toItems(values, { itemFormat: itemFormatOf(body), localTime: flag(body['ifWithLocalTime']) ? localStyle(body) : null, withQuality: false, timezoneOf: (a) => tz.get(a) ?? '+00:00' });
}

/** EnOS TSDB data service v2.1 routes mapped onto the query API. */
export const tsdbRoutes: readonly Route[] = [tsdbRoute('raw', runRaw), tsdbRoute('ai-normalized', runAiNormalized), tsdbRoute('latest', runLatest)];
