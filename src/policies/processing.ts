import { sql, type SQL } from 'drizzle-orm';
import type { PointRecord } from '../ingest/types';
import type { NormalValue } from '../model/validate-value';
import { queryRows, type DbOrTx } from '../storage/db';
import { pointRawValues } from '../storage/schema/index';
import type { LoadedPolicies } from './load';
import { inOrder } from '../ingest/point-order';
import { seriesKey } from '../ingest/series-keys';
import { QUALITY_BAD, type ProcessingStep } from './types';
import { toValueColumns } from './values';

/** The last kept value of a series, for deadbands. */
export interface Kept {
  time: number;
  value: number;
}

/** What one step (or a chain) made of a value: null when it was dropped. */
export type Processed = { readonly value: NormalValue; readonly quality: number | null } | null;

/**
 * Applies a point's steps to one value, in order. `last` is the last kept value of the series
 * (deadband); values at or before its time (late or offline data) pass the deadband unchanged.
 */
export function applySteps(steps: readonly ProcessingStep[], rec: { readonly value: NormalValue; readonly quality: number | null; readonly time: number; readonly dataType: string }, last: Kept | undefined): Processed {
  let value = rec.value;
  let quality = rec.quality;
  for (const s of steps) {
    switch (s.kind) {
      case 'SCALE': {
        if (typeof value !== 'number') break;
        const v = value * s.multiplier + s.offset;
        // NOTE: an INT point stays an integer (its type is the contract subscribers see).
        value = rec.dataType === 'INT' ? Math.round(v) : v;
        break;
      }
      case 'RANGE': {
        if (typeof value !== 'number') break;
        const below = s.min !== null && value < s.min;
        const above = s.max !== null && value > s.max;
        if (!below && !above) break;
        if (s.action === 'DROP') return null;
        if (s.action === 'MARK_BAD') quality = QUALITY_BAD;
        else value = below ? s.min! : s.max!;
        break;
      }
      case 'DEADBAND': {
        if (typeof value !== 'number' || !last || rec.time <= last.time) break;
        const moved = s.delta !== null && Math.abs(value - last.value) > s.delta;
        const elapsed = s.intervalS !== null && rec.time - last.time >= s.intervalS * 1000;
        if (!moved && !elapsed) return null;
        break;
      }
      case 'ENUM_MAP': {
        const to = s.mapping[String(value)];
        if (to !== undefined) value = typeof value === 'number' ? Number(to) : to;
        break;
      }
      default: {
        const never: never = s;
        return never;
      }
    }
  }
  return { value, quality };
}

/** The series (device, point) of `points` whose processing has a deadband: their last kept value is needed. */
export function deadbandSeries(points: readonly PointRecord[], policies: ReadonlyMap<number, LoadedPolicies>): { d: number; p: number }[] {
  const keys = new Map<number, { d: number; p: number }>();
  for (const p of points) {
    const pol = policies.get(p.modelId)?.processing.get(p.pointId);
    if (pol?.steps.some((s) => s.kind === 'DEADBAND')) keys.set(seriesKey(p.deviceId, p.pointId), { d: p.deviceId, p: p.pointId });
  }
  return [...keys.values()];
}

/** Reads the last kept values (from `latest_values`) of series, by {@link seriesKey}. */
export async function readKept(tx: DbOrTx, series: readonly { d: number; p: number }[]): Promise<Map<number, Kept>> {
  const out = new Map<number, Kept>();
  if (!series.length) return out;
  const rows = await queryRows<{ device_id: number; point_id: number; t: string | number; num: number | null }>(tx, keptQuery(series));
  for (const r of rows) if (r.num !== null) out.set(seriesKey(Number(r.device_id), Number(r.point_id)), { time: Number(r.t), value: Number(r.num) });
  return out;
}

/** The query of {@link readKept} (rows: device_id, point_id, t in epoch ms, num), to combine with other reads. */
export function keptQuery(series: readonly { d: number; p: number }[]): SQL {
  return sql`select l.device_id, l.point_id, (extract(epoch from l.time) * 1000)::float8 as t, l.num
             from latest_values l
             join unnest(${sql.param(series.map((k) => k.d))}::int[], ${sql.param(series.map((k) => k.p))}::int[]) as k(d, p)
               on l.device_id = k.d and l.point_id = k.p`;
}

/**
 * Runs the processing policies over a batch's points: returns the points to store, and writes
 * the values as received to `point_raw_values` for points whose policy keeps raw values.
 * Deadband state comes from `latest_values` (the last value kept; `stored` when the caller read
 * it already, see {@link readKept}) and moves within the batch; `kept` carries it across the
 * batches of one transaction (group commit), whose earlier rows are not stored yet when a later
 * batch is processed.
 */
export async function processPoints(tx: DbOrTx, points: readonly PointRecord[], policies: ReadonlyMap<number, LoadedPolicies>, kept: Map<number, Kept> = new Map(), stored?: ReadonlyMap<number, Kept>): Promise<PointRecord[]> {
  const withPolicy = points.filter((p) => policies.get(p.modelId)?.processing.has(p.pointId));
  if (!withPolicy.length) return [...points];
  const raw = withPolicy.filter((p) => policies.get(p.modelId)!.processing.get(p.pointId)!.keepRaw);
  const last = kept;
  for (const [key, s] of stored ?? (await readKept(tx, deadbandSeries(withPolicy, policies)))) {
    const cur = last.get(key);
    if (!cur || cur.time < s.time) last.set(key, s);
  }
  if (raw.length) await writeRawValues(tx, raw);
  const out: PointRecord[] = [];
  // NOTE: deadbands compare with the previous kept value, so a batch is walked in time order
  // (PERF: a batch in time order already, the usual case, is not copied and sorted).
  for (const p of inOrder(points, (a, b) => a.time - b.time)) {
    const pol = policies.get(p.modelId)?.processing.get(p.pointId);
    if (!pol) {
      out.push(p);
      continue;
    }
    const key = seriesKey(p.deviceId, p.pointId);
    const prev = last.get(key);
    const r = applySteps(pol.steps, p, prev);
    if (!r) continue;
    if (typeof r.value === 'number' && !(prev && p.time <= prev.time)) last.set(key, { time: p.time, value: r.value });
    out.push(r.value === p.value && r.quality === p.quality ? p : { ...p, value: r.value, quality: r.quality });
  }
  return out;
}

async function writeRawValues(tx: DbOrTx, points: readonly PointRecord[]): Promise<void> {
  const uniq = new Map(points.map((p) => [`${p.deviceId}:${p.pointId}:${p.time}`, p]));
  const rows = [...uniq.values()].map((p) => ({ time: new Date(p.time), deviceId: p.deviceId, pointId: p.pointId, ...toValueColumns(p.dataType, p.value), quality: p.quality }));
  await tx
    .insert(pointRawValues)
    .values(rows)
    .onConflictDoUpdate({
      target: [pointRawValues.deviceId, pointRawValues.pointId, pointRawValues.time],
      set: { num: sql`excluded.num`, bool: sql`excluded.bool`, txt: sql`excluded.txt`, json: sql`excluded.json`, quality: sql`excluded.quality`, ingestedAt: sql`now()` },
    });
}
