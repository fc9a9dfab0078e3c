import { sql } from 'drizzle-orm';
import type { PointRecord } from '../ingest/types';
import type { DataType } from '../model/type-spec';
import { queryRows, type DbOrTx } from '../storage/db';
import { compileExpression, evaluateExpression, type Expr } from './expression';
import type { LoadedPolicies } from './load';
import { SeriesKeyMap } from '../ingest/series-keys';
import type { ComputedPoint, WindowFunction } from './types';
import { worstQuality } from './values';

/*
 * Computed points, evaluated in the ingest transaction before storage so that they are stored,
 * rolled up and streamed like reported points.
 * - EXPRESSION: evaluated at every time at which one of its inputs arrives, with the other
 *   inputs taken from the batch or else from what is stored at that same time (so a late input
 *   recomputes the value). Not computed while an input is missing at that time.
 * - WINDOW: tumbling windows aligned to the epoch, stamped with the window start; every batch
 *   with source values in a window recomputes it from the stored values plus the batch's.
 * Both carry the worst quality of their inputs.
 */

const compiled = new Map<string, Expr>();
function astOf(source: string): Expr {
  let ast = compiled.get(source);
  if (!ast) {
    ast = compileExpression(source).ast;
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(source, ast);
  }
  return ast;
}

interface Stored {
  num: number;
  quality: number | null;
}

/** The point ids that computed points of `policies` read (expression inputs, window sources). */
function inputPointIds(policies: Iterable<LoadedPolicies>): Set<number> {
  const ids = new Set<number>();
  for (const pol of policies) {
    for (const c of pol.computed) {
      if (c.kind === 'EXPRESSION') for (const i of c.inputs) ids.add(i.pointId);
      else ids.add(c.sourcePointId);
    }
  }
  return ids;
}

/**
 * Adds the values of computed points to a batch's (already processed) points. `pending` holds
 * the input values of earlier batches of the same transaction (group commit): not stored yet,
 * but inputs all the same; the batch's input values (computed ones included) are added to it.
 * PERF: keys are numeric (SeriesKeyMap), and only values that some computed point reads are kept.
 */
export async function computePoints(tx: DbOrTx, points: readonly PointRecord[], policies: ReadonlyMap<number, LoadedPolicies>, pending: SeriesKeyMap<PointRecord> = new SeriesKeyMap()): Promise<PointRecord[]> {
  const withComputed = new Map<number, LoadedPolicies>();
  for (const pol of policies.values()) if (pol.computed.length) withComputed.set(pol.modelId, pol);
  if (!withComputed.size) return [...points];
  const inputIds = inputPointIds(withComputed.values());
  const batchValue = new SeriesKeyMap<PointRecord>();
  for (const p of points) if (inputIds.has(p.pointId)) batchValue.set(p.deviceId, p.pointId, p.time, p);
  const valueAt = (deviceId: number, pointId: number, time: number) => batchValue.get(deviceId, pointId, time) ?? pending.get(deviceId, pointId, time);
  /** Computed values, in the order computed; `outIndex` finds one by key (a recomputed window replaces its value in place). */
  const outList: PointRecord[] = [];
  const outIndex = new SeriesKeyMap<number>();
  const types = new Map<number, DataType>();
  const typeOf = (pol: LoadedPolicies, pointId: number): DataType => {
    let t = types.get(pointId);
    if (t === undefined) types.set(pointId, (t = (pol.points.find((f) => f.id === pointId)?.type?.dataType ?? 'DOUBLE') as DataType));
    return t;
  };
  const emit = (base: PointRecord, c: ComputedPoint, pol: LoadedPolicies, time: number, value: number, quality: number | null) => {
    const dataType = typeOf(pol, c.pointId);
    const v = dataType === 'INT' ? Math.round(value) : value;
    const rec: PointRecord = { deviceId: base.deviceId, assetId: base.assetId, productKey: base.productKey, modelId: base.modelId, pointId: c.pointId, identifier: c.point, dataType, time, value: v, quality };
    const k = outIndex.get(base.deviceId, c.pointId, time);
    if (k === undefined) outIndex.set(base.deviceId, c.pointId, time, outList.push(rec) - 1);
    else outList[k] = rec;
  };

  // EXPRESSION: the (device, time) pairs where some input arrived.
  type ExprTask = { rec: PointRecord; c: Extract<ComputedPoint, { kind: 'EXPRESSION' }>; pol: LoadedPolicies };
  const exprTasks: ExprTask[] = [];
  const taskKeys = new SeriesKeyMap<true>();
  const lookups: { d: number; p: number; t: number }[] = [];
  const lookupKeys = new SeriesKeyMap<true>();
  for (const rec of points) {
    if (!inputIds.has(rec.pointId)) continue;
    const pol = withComputed.get(rec.modelId);
    if (!pol) continue;
    for (const c of pol.computed) {
      if (c.kind !== 'EXPRESSION' || !c.inputs.some((i) => i.pointId === rec.pointId) || taskKeys.has(rec.deviceId, c.pointId, rec.time)) continue;
      taskKeys.set(rec.deviceId, c.pointId, rec.time, true);
      exprTasks.push({ rec, c, pol });
      for (const i of c.inputs) {
        if (valueAt(rec.deviceId, i.pointId, rec.time) || lookupKeys.has(rec.deviceId, i.pointId, rec.time)) continue;
        lookupKeys.set(rec.deviceId, i.pointId, rec.time, true);
        lookups.push({ d: rec.deviceId, p: i.pointId, t: rec.time });
      }
    }
  }
  // NOTE: inputs all in the batch (the usual case) need no query.
  const stored = await readAtTimes(tx, lookups);
  const inputs = new Map<string, number>();
  for (const { rec, c, pol } of exprTasks) {
    inputs.clear();
    let quality: number | null = null;
    let complete = true;
    for (const i of c.inputs) {
      const b = valueAt(rec.deviceId, i.pointId, rec.time);
      const v = b ? (typeof b.value === 'number' ? { num: b.value, quality: b.quality } : undefined) : stored.get(rec.deviceId, i.pointId, rec.time);
      if (!v) {
        complete = false;
        break;
      }
      inputs.set(i.identifier, v.num);
      quality = worstQuality(quality, v.quality);
    }
    if (!complete) continue;
    const value = evaluateExpression(astOf(c.expression), inputs);
    if (value !== null) emit(rec, c, pol, rec.time, value, quality);
  }

  // WINDOW: recompute every window that received a source value.
  const windows = new Map<string, { rec: PointRecord; c: Extract<ComputedPoint, { kind: 'WINDOW' }>; pol: LoadedPolicies; start: number }>();
  for (const rec of points) {
    const pol = typeof rec.value === 'number' && inputIds.has(rec.pointId) ? withComputed.get(rec.modelId) : undefined;
    if (!pol) continue;
    for (const c of pol.computed) {
      if (c.kind !== 'WINDOW' || c.sourcePointId !== rec.pointId) continue;
      const size = c.windowS * 1000;
      const start = Math.floor(rec.time / size) * size;
      windows.set(`${rec.deviceId}:${c.pointId}:${start}`, { rec, c, pol, start });
    }
  }
  if (windows.size) {
    const ws = [...windows.values()];
    const rows = await queryRows<{ i: number; t: string | number; num: number; quality: number | null }>(
      tx,
      sql`select w.i, (extract(epoch from p.time) * 1000)::float8 as t, p.num, p.quality
          from unnest(${sql.param(ws.map((_, i) => i))}::int[], ${sql.param(ws.map((w) => w.rec.deviceId))}::int[], ${sql.param(ws.map((w) => w.c.sourcePointId))}::int[],
                      ${sql.param(ws.map((w) => new Date(w.start).toISOString()))}::text[]::timestamptz[], ${sql.param(ws.map((w) => new Date(w.start + w.c.windowS * 1000).toISOString()))}::text[]::timestamptz[]) as w(i, d, p, s, e)
          join point_data p on p.device_id = w.d and p.point_id = w.p and p.time >= w.s and p.time < w.e
          where p.num is not null`,
    );
    const values: Map<number, Stored & { time: number }>[] = ws.map(() => new Map());
    for (const r of rows) values[r.i]!.set(Number(r.t), { time: Number(r.t), num: Number(r.num), quality: r.quality === null ? null : Number(r.quality) });
    const bySeries = new Map<string, number[]>();
    ws.forEach((w, i) => {
      const k = `${w.rec.deviceId}:${w.c.sourcePointId}`;
      const list = bySeries.get(k);
      if (list) list.push(i);
      else bySeries.set(k, [i]);
    });
    for (const p of [...pending.values(), ...points]) {
      if (typeof p.value !== 'number') continue;
      for (const i of bySeries.get(`${p.deviceId}:${p.pointId}`) ?? []) {
        const w = ws[i]!;
        if (p.time >= w.start && p.time < w.start + w.c.windowS * 1000) values[i]!.set(p.time, { time: p.time, num: p.value, quality: p.quality });
      }
    }
    ws.forEach((w, i) => {
      const vals = [...values[i]!.values()].sort((a, b) => a.time - b.time);
      if (!vals.length) return;
      const quality = vals.reduce<number | null>((q, v) => worstQuality(q, v.quality), null);
      const value = aggregate(w.c.function, vals.map((v) => v.num));
      // As for expressions: a result that is not a finite double (a SUM beyond 1.8e308) is not stored.
      if (Number.isFinite(value)) emit(w.rec, w.c, w.pol, w.start, value, quality);
    });
  }
  // A value sent for a computed point itself is replaced by the computed one.
  const kept = outList.length ? points.filter((p) => !outIndex.has(p.deviceId, p.pointId, p.time)) : [...points];
  const all = [...kept, ...outList];
  for (const p of all) if (inputIds.has(p.pointId)) pending.set(p.deviceId, p.pointId, p.time, p);
  return all;
}

/** 2^-30: AVG adds the values scaled (exactly) by it, so that the mean of the largest doubles stays finite. */
const AVG_SCALE = 2 ** -30;

/** Applies a window function to values in time order; SUM may be +-Infinity beyond a double. */
export function aggregate(fn: WindowFunction, v: readonly number[]): number {
  switch (fn) {
    case 'AVG':
      return v.reduce((a, b) => a + b * AVG_SCALE, 0) / v.length / AVG_SCALE;
    case 'SUM':
      return v.reduce((a, b) => a + b, 0);
    case 'MIN':
      return Math.min(...v);
    case 'MAX':
      return Math.max(...v);
    case 'COUNT':
      return v.length;
    case 'FIRST':
      return v[0]!;
    case 'LAST':
      return v[v.length - 1]!;
    default: {
      const never: never = fn;
      return never;
    }
  }
}

/** Stored numeric values at exact times: history first, else the latest value if it is at that time. */
async function readAtTimes(tx: DbOrTx, keys: readonly { d: number; p: number; t: number }[]): Promise<SeriesKeyMap<Stored>> {
  const out = new SeriesKeyMap<Stored>();
  if (!keys.length) return out;
  const d = sql.param(keys.map((k) => k.d));
  const p = sql.param(keys.map((k) => k.p));
  const t = sql.param(keys.map((k) => new Date(k.t).toISOString()));
  const rows = await queryRows<{ device_id: number; point_id: number; t: string | number; num: number; quality: number | null }>(
    tx,
    sql`select k.d as device_id, k.p as point_id, (extract(epoch from k.t) * 1000)::float8 as t,
               coalesce(h.num, l.num) as num, case when h.num is not null then h.quality else l.quality end as quality
        from unnest(${d}::int[], ${p}::int[], ${t}::text[]::timestamptz[]) as k(d, p, t)
        left join point_data h on h.device_id = k.d and h.point_id = k.p and h.time = k.t
        left join latest_values l on l.device_id = k.d and l.point_id = k.p and l.time = k.t
        where coalesce(h.num, l.num) is not null`,
  );
  for (const r of rows) out.set(Number(r.device_id), Number(r.point_id), Number(r.t), { num: Number(r.num), quality: r.quality === null ? null : Number(r.quality) });
  return out;
}
