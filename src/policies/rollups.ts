import { sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { byDevicePointTime, inOrder } from '../ingest/point-order';
import type { PointRecord } from '../ingest/types';
import { numArray } from '../storage/array-literals';
import { queryRows, type DbOrTx } from '../storage/db';
import { rollup1d, rollup1h, rollup1m } from '../storage/schema/index';
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

// NOTE: times travel as epoch milliseconds (int8 arrays: no date formatting nor text escaping) and are converted server side, exactly.
const EPOCH = sql`'epoch'::timestamptz`;
const MS = sql`interval '1 millisecond'`;

/** A point value and the rollup levels its storage policy keeps. */
export interface RollupInput {
  readonly point: PointRecord;
  readonly levels: readonly RollupForm[];
}

/**
 * The columns of the merge upsert of one level (one row per device, point and bucket), as the
 * texts of array literal elements. PERF: a bucket of ONE value (the usual case: a batch brings
 * one value per series) sends its value once, as the sum, and its time once, as the first
 * time; min, max, first and last value and last time are NULL, read as the same. That saves
 * number formatting here and parsing in the database (five float8 of eight).
 */
interface MergeColumns {
  readonly d: string[];
  readonly p: string[];
  readonly b: string[];
  readonly c: string[];
  readonly s: string[];
  readonly lo: string[];
  readonly hi: string[];
  readonly ft: string[];
  readonly fv: string[];
  readonly lt: string[];
  readonly lv: string[];
}

const byKey = (x: RollupInput, y: RollupInput) => byDevicePointTime(x.point, y.point);

/**
 * The values that count, in (device, point, time) order: the last one given per key (the sort is
 * stable), and only when it is numeric and kept at some level. PERF: sorting once replaces the
 * per-value maps of keys: every bucket of a series is then a run of consecutive values.
 */
function lastPerKey(items: readonly RollupInput[]): RollupInput[] {
  const rows = inOrder(items, byKey);
  const out: RollupInput[] = [];
  for (let i = 0; i < rows.length; i++) {
    const x = rows[i]!;
    const next = rows[i + 1];
    if (next && byKey(x, next) === 0) continue;
    if (x.levels.length && typeof x.point.value === 'number') out.push(x);
  }
  return out;
}

/**
 * The statements that maintain the rollups of the given values (numeric values only) at the
 * levels each one is kept, to run after the points are stored (see hooks.ts, which runs them as
 * one statement). `items` may hold several values for one key (batches of one transaction): the
 * last one is what point_data holds, so it is the one counted. `replaced` holds the series keys
 * that overwrote a value stored before: their buckets are recomputed.
 */
export function rollupStatements(items: readonly RollupInput[], replaced: { has(deviceId: number, pointId: number, time: number): boolean }): SQL[] {
  const rows = lastPerKey(items);
  const out: SQL[] = [];
  for (const level of ROLLUP_LEVELS) {
    const m: MergeColumns = { d: [], p: [], b: [], c: [], s: [], lo: [], hi: [], ft: [], fv: [], lt: [], lv: [] };
    const recompute: { d: number; p: number; bucket: number }[] = [];
    // The bucket being summed: rows are in key order, so a bucket's values are consecutive.
    let d = 0;
    let p = 0;
    let bucket = NaN;
    let count = 0;
    let sum = 0;
    let min = 0;
    let max = 0;
    let ft = 0;
    let fv = 0;
    let lt = 0;
    let lv = 0;
    let anyReplaced = false;
    const flush = () => {
      if (!count) return;
      // NOTE: a bucket that is recomputed from point_data already includes the batch's new values.
      if (anyReplaced) recompute.push({ d, p, bucket });
      else {
        const one = count === 1;
        m.d.push(String(d));
        m.p.push(String(p));
        m.b.push(String(bucket));
        m.c.push(String(count));
        m.s.push(String(sum));
        m.lo.push(one ? 'NULL' : String(min));
        m.hi.push(one ? 'NULL' : String(max));
        m.ft.push(String(ft));
        m.fv.push(one ? 'NULL' : String(fv));
        m.lt.push(one ? 'NULL' : String(lt));
        m.lv.push(one ? 'NULL' : String(lv));
      }
    };
    for (const { point: r, levels } of rows) {
      if (!levels.includes(level.form)) continue;
      const v = r.value as number;
      const b = Math.floor(r.time / level.ms) * level.ms;
      if (count && r.deviceId === d && r.pointId === p && b === bucket) {
        count++;
        sum += v;
        if (v < min) min = v;
        if (v > max) max = v;
        // Values come in time order: the first is the earliest, the last the latest.
        lt = r.time;
        lv = v;
      } else {
        flush();
        d = r.deviceId;
        p = r.pointId;
        bucket = b;
        count = 1;
        sum = min = max = fv = lv = v;
        ft = lt = r.time;
        anyReplaced = false;
      }
      if (replaced.has(r.deviceId, r.pointId, r.time)) anyReplaced = true;
    }
    flush();
    // NOTE: rows in key order, so that concurrent transactions lock hot buckets in the same order (no deadlocks).
    if (m.d.length) out.push(mergeStatement(level.table, m));
    if (recompute.length) out.push(recomputeStatement(level.table, level.interval, recompute));
  }
  return out;
}

function mergeStatement(table: PgTable, m: MergeColumns): SQL {
  const col = (elements: readonly string[], type: string) => sql`${sql.param(`{${elements.join(',')}}`)}::${sql.raw(type)}`;
  return sql`insert into ${table} as r (device_id, point_id, bucket, count, sum, min, max, first_time, first_value, last_time, last_value)
        select u.d, u.p, ${EPOCH} + u.b * ${MS}, u.c, u.s, coalesce(u.lo, u.s), coalesce(u.hi, u.s), ${EPOCH} + u.ft * ${MS}, coalesce(u.fv, u.s), ${EPOCH} + coalesce(u.lt, u.ft) * ${MS}, coalesce(u.lv, u.s)
        from unnest(${col(m.d, 'int[]')}, ${col(m.p, 'int[]')}, ${col(m.b, 'int8[]')}, ${col(m.c, 'int[]')},
                    ${col(m.s, 'float8[]')}, ${col(m.lo, 'float8[]')}, ${col(m.hi, 'float8[]')},
                    ${col(m.ft, 'int8[]')}, ${col(m.fv, 'float8[]')}, ${col(m.lt, 'int8[]')}, ${col(m.lv, 'float8[]')}) as u(d, p, b, c, s, lo, hi, ft, fv, lt, lv)
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
  const d = sql.param(numArray(buckets.map((b) => b.d)));
  const p = sql.param(numArray(buckets.map((b) => b.p)));
  const s = sql.param(numArray(buckets.map((b) => b.bucket)));
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
