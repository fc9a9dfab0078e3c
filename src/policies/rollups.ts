import { sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { PointRecord } from '../ingest/types';
import { queryRows, type DbOrTx } from '../storage/db';
import { rollup1d, rollup1h, rollup1m } from '../storage/schema/index';
import { SeriesKeyMap } from './series-keys';
import type { RollupForm } from './types';

/*
 * Rollups: per device, point and bucket (1 minute, 1 hour, 1 day, UTC, aligned to the epoch):
 * count, sum, min, max, first and last (value and time). Maintained in the ingest transaction
 * after the rows are stored (once per transaction, for all its batches):
 * - values new to the series are pre-aggregated per bucket and merged with one upsert per level
 *   (so late and offline data land in their buckets, and first/last compare times);
 * - values that replaced a stored one (a retried (device, point, time)) would be counted twice
 *   by a merge, so their buckets are recomputed from point_data instead (ingest reports which
 *   keys its upsert replaced, see ingest/replaced-keys.ts).
 */

/** Bucket sizes, in milliseconds, and tables of the rollup levels. */
export const ROLLUP_LEVELS: readonly { readonly form: RollupForm; readonly ms: number; readonly table: PgTable; readonly interval: string }[] = [
  { form: 'ROLLUP_1M', ms: 60_000, table: rollup1m, interval: '1 minute' },
  { form: 'ROLLUP_1H', ms: 3_600_000, table: rollup1h, interval: '1 hour' },
  { form: 'ROLLUP_1D', ms: 86_400_000, table: rollup1d, interval: '1 day' },
];

interface Acc {
  d: number;
  p: number;
  bucket: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  ft: number;
  fv: number;
  lt: number;
  lv: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
// NOTE: times travel as epoch milliseconds (int8 arrays: no date formatting nor text escaping) and are converted server side, exactly.
const EPOCH = sql`'epoch'::timestamptz`;
const MS = sql`interval '1 millisecond'`;

/**
 * The statements that maintain the rollups of `points` (numeric values only) at the levels each
 * point stores, to run after the points are stored (see derived-writes.ts, which runs them as
 * one statement). `points` may hold several values for one key (batches of one transaction): the
 * last one is what point_data holds, so it is the one counted. `replaced` holds the series keys
 * that overwrote a value stored before: their buckets are recomputed.
 */
export function rollupStatements(points: readonly PointRecord[], levelsOf: (p: PointRecord) => readonly RollupForm[], replaced: { has(deviceId: number, pointId: number, time: number): boolean }): SQL[] {
  const last = new SeriesKeyMap<{ r: PointRecord; levels: readonly RollupForm[] }>();
  for (const r of points) {
    const levels = typeof r.value === 'number' ? levelsOf(r) : [];
    if (levels.length) last.set(r.deviceId, r.pointId, r.time, { r, levels });
    else last.delete(r.deviceId, r.pointId, r.time);
  }
  const out: SQL[] = [];
  for (const level of ROLLUP_LEVELS) {
    const merged = new SeriesKeyMap<Acc>();
    const recompute = new SeriesKeyMap<{ d: number; p: number; bucket: number }>();
    for (const { r, levels } of last.values()) {
      if (!levels.includes(level.form)) continue;
      const bucket = Math.floor(r.time / level.ms) * level.ms;
      if (replaced.has(r.deviceId, r.pointId, r.time)) {
        recompute.set(r.deviceId, r.pointId, bucket, { d: r.deviceId, p: r.pointId, bucket });
        continue;
      }
      const v = r.value as number;
      const a = merged.get(r.deviceId, r.pointId, bucket);
      if (!a) merged.set(r.deviceId, r.pointId, bucket, { d: r.deviceId, p: r.pointId, bucket, count: 1, sum: v, min: v, max: v, ft: r.time, fv: v, lt: r.time, lv: v });
      else {
        a.count++;
        a.sum += v;
        a.min = Math.min(a.min, v);
        a.max = Math.max(a.max, v);
        if (r.time < a.ft) [a.ft, a.fv] = [r.time, v];
        if (r.time > a.lt) [a.lt, a.lv] = [r.time, v];
      }
    }
    // NOTE: a bucket that is recomputed from point_data already includes the batch's new values.
    for (const k of recompute.values()) merged.delete(k.d, k.p, k.bucket);
    // NOTE: rows in key order, so that concurrent transactions lock hot buckets in the same order (no deadlocks).
    const byKey = (x: { d: number; p: number; bucket: number }, y: { d: number; p: number; bucket: number }) => x.d - y.d || x.p - y.p || x.bucket - y.bucket;
    if (merged.size) out.push(mergeStatement(level.table, [...merged.values()].sort(byKey)));
    if (recompute.size) out.push(recomputeStatement(level.table, level.interval, [...recompute.values()].sort(byKey)));
  }
  return out;
}

function mergeStatement(table: PgTable, rows: readonly Acc[]): SQL {
  const col = <T>(f: (a: Acc) => T) => sql.param(rows.map(f));
  return sql`insert into ${table} as r (device_id, point_id, bucket, count, sum, min, max, first_time, first_value, last_time, last_value)
        select u.d, u.p, ${EPOCH} + u.b * ${MS}, u.c, u.s, u.lo, u.hi, ${EPOCH} + u.ft * ${MS}, u.fv, ${EPOCH} + u.lt * ${MS}, u.lv
        from unnest(${col((a) => a.d)}::int[], ${col((a) => a.p)}::int[], ${col((a) => a.bucket)}::int8[], ${col((a) => a.count)}::int[],
                    ${col((a) => a.sum)}::float8[], ${col((a) => a.min)}::float8[], ${col((a) => a.max)}::float8[],
                    ${col((a) => a.ft)}::int8[], ${col((a) => a.fv)}::float8[], ${col((a) => a.lt)}::int8[], ${col((a) => a.lv)}::float8[]) as u(d, p, b, c, s, lo, hi, ft, fv, lt, lv)
        on conflict (device_id, point_id, bucket) do update set
          count = r.count + excluded.count,
          sum = r.sum + excluded.sum,
          min = least(r.min, excluded.min),
          max = greatest(r.max, excluded.max),
          first_time = case when excluded.first_time < r.first_time then excluded.first_time else r.first_time end,
          first_value = case when excluded.first_time < r.first_time then excluded.first_value else r.first_value end,
          last_time = case when excluded.last_time > r.last_time then excluded.last_time else r.last_time end,
          last_value = case when excluded.last_time > r.last_time then excluded.last_value else r.last_value end`;
}

/** Rebuilds whole buckets from point_data (used for retried values; also by tests and repair). */
export async function recomputeBuckets(tx: DbOrTx, table: PgTable, interval: string, buckets: readonly { d: number; p: number; bucket: number }[]): Promise<void> {
  if (buckets.length) await queryRows(tx, recomputeStatement(table, interval, buckets));
}

function recomputeStatement(table: PgTable, interval: string, buckets: readonly { d: number; p: number; bucket: number }[]): SQL {
  const d = sql.param(buckets.map((b) => b.d));
  const p = sql.param(buckets.map((b) => b.p));
  const s = sql.param(buckets.map((b) => b.bucket));
  const agg: SQL = sql`select k.d, k.p, k.s, count(*)::int, sum(x.num), min(x.num), max(x.num),
                              min(x.time), (array_agg(x.num order by x.time asc))[1], max(x.time), (array_agg(x.num order by x.time desc))[1]
                       from (select u.d, u.p, ${EPOCH} + u.s * ${MS} as s from unnest(${d}::int[], ${p}::int[], ${s}::int8[]) as u(d, p, s)) as k
                       join point_data x on x.device_id = k.d and x.point_id = k.p and x.time >= k.s and x.time < k.s + ${interval}::interval
                       where x.num is not null
                       group by k.d, k.p, k.s
                       order by k.d, k.p, k.s`;
  return sql`insert into ${table} as r (device_id, point_id, bucket, count, sum, min, max, first_time, first_value, last_time, last_value)
        ${agg}
        on conflict (device_id, point_id, bucket) do update set
          count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max,
          first_time = excluded.first_time, first_value = excluded.first_value, last_time = excluded.last_time, last_value = excluded.last_value`;
}
