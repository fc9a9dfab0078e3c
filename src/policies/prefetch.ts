import { sql, type SQL } from 'drizzle-orm';
import type { PointRecord } from '../ingest/types';
import { queryRows, type DbOrTx } from '../storage/db';
import type { LoadedPolicies } from './load';
import { deadbandSeries, keptQuery, type Kept } from './processing';
import { storedKeysQuery } from './rollups';
import { SeriesKeyMap } from './series-keys';

/** What the policy processor reads before processing a batch. */
export interface Prefetched {
  /** Last kept values of the batch's deadband series (`device:point`). */
  readonly kept: Map<string, Kept>;
  /** The probed keys that have a stored value. */
  readonly stored: SeriesKeyMap<true>;
}

type Key = { readonly deviceId: number; readonly pointId: number; readonly time: number };

/**
 * The keys whose stored values may be replaced by the batch and that feed rollups: the batch's
 * own keys and the keys of the computed points they trigger (expression: same time; window: the
 * window start). A superset of what the rollup writer asks about (values later dropped by a
 * processing step are probed all the same), known before processing so that one query reads
 * them together with the deadband state.
 */
export function probeKeys(points: readonly PointRecord[], policies: ReadonlyMap<number, LoadedPolicies>, rollsUp: (modelId: number, pointId: number) => boolean): SeriesKeyMap<Key> {
  const keys = new SeriesKeyMap<Key>();
  const add = (deviceId: number, pointId: number, time: number) => keys.set(deviceId, pointId, time, { deviceId, pointId, time });
  for (const p of points) {
    if (rollsUp(p.modelId, p.pointId)) add(p.deviceId, p.pointId, p.time);
    for (const c of policies.get(p.modelId)?.computed ?? []) {
      if (!rollsUp(p.modelId, c.pointId)) continue;
      if (c.kind === 'EXPRESSION' && c.inputs.some((i) => i.pointId === p.pointId)) add(p.deviceId, c.pointId, p.time);
      else if (c.kind === 'WINDOW' && c.sourcePointId === p.pointId) add(p.deviceId, c.pointId, Math.floor(p.time / (c.windowS * 1000)) * c.windowS * 1000);
    }
  }
  return keys;
}

/**
 * Reads, in one round trip, the deadband state of a batch (see processing.ts) and which of
 * `probe` (from {@link probeKeys}) already have a stored value (see rollups.ts).
 */
export async function prefetch(tx: DbOrTx, points: readonly PointRecord[], policies: ReadonlyMap<number, LoadedPolicies>, probe: SeriesKeyMap<Key>): Promise<Prefetched> {
  const keys = [...probe.values()];
  const series = deadbandSeries(points, policies);
  const parts: SQL[] = [];
  if (series.length) parts.push(sql`select 0 as part, k.device_id, k.point_id, k.t, k.num from (${keptQuery(series)}) as k`);
  if (keys.length) parts.push(sql`select 1 as part, s.device_id, s.point_id, s.t, null::float8 as num from (${storedKeysQuery(keys)}) as s`);
  const kept = new Map<string, Kept>();
  const stored = new SeriesKeyMap<true>();
  if (!parts.length) return { kept, stored };
  const rows = await queryRows<{ part: number | string; device_id: number; point_id: number; t: string | number; num: number | string | null }>(tx, sql.join(parts, sql` union all `));
  for (const r of rows) {
    if (Number(r.part) === 1) stored.set(Number(r.device_id), Number(r.point_id), Number(r.t), true);
    else if (r.num !== null) kept.set(`${r.device_id}:${r.point_id}`, { time: Number(r.t), value: Number(r.num) });
  }
  return { kept, stored };
}
