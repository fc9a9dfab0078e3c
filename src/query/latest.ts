import { sql, type SQL } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import { badInput } from '../errors';
import type { Feature } from '../registry/models';
import { queryRows, type DbOrTx } from '../storage/db';
import type { ModelCache } from '../ingest/model-cache';
import type { LatestCache, LatestLookup, LatestValue } from './latest-cache';
import { deviceFeatures, loadFeatures, pairSeries, selectDevices, type DeviceSelector, type FeatureIndex, type SelectedDevice, type Series } from './selection';
import { epochMs, intArray, tsParam, valueOf, type ValueColumns } from './sql-util';
import { LATEST_ADVICE, type QueryBudget } from './query-budget';

/** A value of a point of a device, as the API returns it. */
export interface PointValue {
  readonly assetId: string;
  readonly point: string;
  /** Epoch milliseconds. */
  readonly time: number;
  readonly value: unknown;
  readonly quality: number | null;
  /** True for data sent as offline (backfilled) history. */
  readonly offline: boolean;
}

/** Arguments of {@link getLatestValues}. */
export interface LatestArgs {
  readonly devices: DeviceSelector;
  /** Point identifiers; null for every point of each device's model. */
  readonly points?: readonly string[] | null | undefined;
  /** Keep only values at or after this time (epoch ms). */
  readonly since?: number | null | undefined;
}

/** The instance's latest-values cache and the organisation it reads for (absent: read the database). */
export interface LatestSource {
  readonly cache: LatestCache;
  readonly orgId: string;
}

/** The SQL of a latest-values read: one index probe per (device, point) of the primary key. */
export function latestSql(deviceIds: readonly number[], pointIds: readonly number[], sinceMs: number | null): SQL {
  return sql`select device_id, point_id, ${epochMs(sql`time`)} as t, num, bool, txt, json, quality
    from latest_values
    where device_id = any(${intArray(deviceIds)}) and point_id = any(${intArray(pointIds)})
    ${sinceMs === null ? sql`` : sql`and time >= ${tsParam(sinceMs)}`}
    order by device_id, point_id`;
}

const NO_VALUES: LatestLookup = { get: () => undefined };

/**
 * The latest values of `pointIds` of the devices: from the cache when it can answer, else from
 * the database. `index` holds every measurement point of the devices' models (the cache keeps
 * whole devices). Values older than `sinceMs` are left out. The caller reads the lookup in one
 * synchronous pass.
 */
async function readLatestValues(db: DbOrTx, source: LatestSource | undefined, devs: readonly SelectedDevice[], pointIds: ReadonlySet<number>, index: FeatureIndex, sinceMs: number | null): Promise<LatestLookup> {
  if (!devs.length || !pointIds.size) return NO_VALUES;
  const cached = source ? await source.cache.read(db, source.orgId, devs, index) : null;
  if (cached) {
    if (sinceMs === null) return cached;
    return {
      get: (deviceId, point) => {
        const v = cached.get(deviceId, point);
        return v && v.t >= sinceMs ? v : undefined;
      },
    };
  }
  const rows = await queryRows<ValueColumns & { device_id: number; point_id: number; t: number; quality: number | null }>(db, latestSql([...new Set(devs.map((d) => d.id))], [...pointIds], sinceMs));
  const byDevice = new Map<number, Map<number, LatestValue>>();
  for (const r of rows) {
    let m = byDevice.get(r.device_id);
    if (!m) byDevice.set(r.device_id, (m = new Map()));
    m.set(r.point_id, { t: r.t, value: valueOf(r), quality: r.quality });
  }
  return { get: (deviceId, point) => byDevice.get(deviceId)?.get(point.id) };
}

/** Reads the latest values of the series, in series order (missing ones are absent). */
export async function readLatest(db: DbOrTx, series: readonly Series[], sinceMs: number | null, index: FeatureIndex, source?: LatestSource): Promise<PointValue[]> {
  if (!series.length) return [];
  const devs = [...new Map(series.map((s) => [s.device.id, s.device])).values()];
  const values = await readLatestValues(db, source, devs, new Set(series.map((s) => s.feature.id)), index, sinceMs);
  const out: PointValue[] = [];
  for (const s of series) {
    const v = values.get(s.device.id, s.feature);
    if (v) out.push({ assetId: s.device.assetId, point: s.feature.identifier, time: v.t, value: v.value, quality: v.quality, offline: false }); // offline data never moves latest values
  }
  return out;
}

/**
 * Latest real-time values of the chosen points of the selected devices (offline data never
 * moves them). BAD_USER_INPUT past `maxValues` devices x points.
 */
export async function getLatestValues(db: DbOrTx, access: Access, maxValues: number, args: LatestArgs, models?: ModelCache, cache?: LatestCache, budget?: QueryBudget): Promise<PointValue[]> {
  const { orgId } = access.require('ASSET_READ');
  const devs = await selectDevices(db, access, args.devices);
  const index = await deviceFeatures(db, devs, 'MEASUREPOINT', models);
  const series = pairSeries(devs, index, args.points, 'measurement point');
  if (series.length > maxValues) throw badInput(`a latest-values query reads at most ${maxValues} device x point pairs (QUERY_LATEST_MAX_VALUES); this one reads ${series.length}`, { max: maxValues, requested: series.length });
  await budget?.charge(series.length, { advice: LATEST_ADVICE });
  return readLatest(db, series, args.since ?? null, index, cache && { cache, orgId });
}

/**
 * The latest values of one device, columnar: entry i of each list describes one point. The
 * shape for bulk reads (a few list fields per device instead of one object per value).
 */
export interface DeviceLatestValues {
  readonly assetId: string;
  readonly points: string[];
  /** Epoch milliseconds. */
  readonly times: number[];
  readonly values: unknown[];
  readonly qualities: (number | null)[];
  /** The same lists again, for the `*Json` fields (one JSON leaf each: the fast bulk shape). */
  readonly pointsJson: string[];
  readonly timesJson: number[];
  readonly valuesJson: unknown[];
  readonly qualitiesJson: (number | null)[];
}

/**
 * {@link getLatestValues} grouped by device, columnar: every selected device is present (with
 * empty lists when it has no value yet), in selection order; points in request order.
 */
export async function getLatestValuesByDevice(db: DbOrTx, access: Access, maxValues: number, args: LatestArgs, models?: ModelCache, cache?: LatestCache, budget?: QueryBudget): Promise<DeviceLatestValues[]> {
  const { orgId } = access.require('ASSET_READ');
  const devs = await selectDevices(db, access, args.devices);
  const index = await deviceFeatures(db, devs, 'MEASUREPOINT', models);
  // PERF: the chosen features of each model once, then plain loops: no object per (device, point)
  // pair, since a call may read thousands of them.
  const chosenByModel = new Map<number, Feature[]>();
  if (args.points) {
    const unique = [...new Set(args.points)];
    for (const id of unique) if (devs.length && !devs.some((d) => index.get(d.modelId)?.has(id))) throw badInput(`unknown measurement point ${id}`, { identifier: id });
    for (const [modelId, feats] of index) chosenByModel.set(modelId, unique.flatMap((id) => (feats.has(id) ? [feats.get(id)!] : [])));
  } else {
    for (const [modelId, feats] of index) chosenByModel.set(modelId, [...feats.values()]);
  }
  let pairs = 0;
  const reading: SelectedDevice[] = [];
  const pointIds = new Set<number>();
  for (const d of devs) {
    const chosen = chosenByModel.get(d.modelId) ?? [];
    pairs += chosen.length;
    if (chosen.length) reading.push(d);
    for (const f of chosen) pointIds.add(f.id);
  }
  if (pairs > maxValues) throw badInput(`a latest-values query reads at most ${maxValues} device x point pairs (QUERY_LATEST_MAX_VALUES); this one reads ${pairs}`, { max: maxValues, requested: pairs });
  await budget?.charge(pairs, { advice: LATEST_ADVICE });
  const latest = await readLatestValues(db, cache && { cache, orgId }, reading, pointIds, index, args.since ?? null);
  const out: DeviceLatestValues[] = new Array(devs.length);
  for (let k = 0; k < devs.length; k++) {
    const d = devs[k]!;
    const points: string[] = [];
    const times: number[] = [];
    const values: unknown[] = [];
    const qualities: (number | null)[] = [];
    out[k] = { assetId: d.assetId, points, times, values, qualities, pointsJson: points, timesJson: times, valuesJson: values, qualitiesJson: qualities };
    for (const f of chosenByModel.get(d.modelId) ?? []) {
      const v = latest.get(d.id, f);
      if (!v) continue;
      points.push(f.identifier);
      times.push(v.t);
      values.push(v.value);
      qualities.push(v.quality);
    }
  }
  return out;
}

/** One request of the per-device batch loader. */
export interface LatestKey {
  readonly device: SelectedDevice;
  readonly points: readonly string[] | null;
}

/**
 * Batch read for `Device.latest` across a list of devices: one feature load and one SQL query
 * per distinct `points` argument, whatever the number of devices. Unknown identifiers give no
 * value rather than an error, since devices of a list may use different models.
 */
export async function batchLatest(db: DbOrTx, keys: readonly LatestKey[], source?: LatestSource): Promise<PointValue[][]> {
  const index = await loadFeatures(db, keys.map((k) => k.device.modelId), 'MEASUREPOINT');
  const groups = new Map<string, LatestKey[]>();
  for (const k of keys) {
    const g = k.points ? JSON.stringify([...k.points]) : '*';
    const list = groups.get(g);
    if (list) list.push(k);
    else groups.set(g, [k]);
  }
  const byDevice = new Map<string, PointValue[]>();
  for (const [g, ks] of groups) {
    const series: Series[] = [];
    for (const k of ks) {
      const feats = index.get(k.device.modelId);
      const chosen = k.points ? k.points.flatMap((p) => (feats?.get(p) ? [feats.get(p)!] : [])) : [...(feats?.values() ?? [])];
      for (const f of chosen) series.push({ device: k.device, feature: f });
    }
    const values = await readLatest(db, series, null, index, source);
    for (const v of values) {
      const key = `${g}|${v.assetId}`;
      const list = byDevice.get(key);
      if (list) list.push(v);
      else byDevice.set(key, [v]);
    }
  }
  return keys.map((k) => byDevice.get(`${k.points ? JSON.stringify([...k.points]) : '*'}|${k.device.assetId}`) ?? []);
}
