import { sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Logger } from '../log';
import { startPeriodicTask, type PeriodicTask } from '../periodic-task';
import { SCALE, unscale } from '../query/float-sql';
import { numArray } from '../storage/array-literals';
import { queryRows, type Db, type DbOrTx } from '../storage/db';
import { rollup1d, rollup1h, rollup1m } from '../storage/schema/index';
import type { RollupForm } from './types';

/*
 * The rollup journal. An ingest transaction does not update the rollup tables: it appends its
 * deltas (count, sum, min, max, first and last per device, point and bucket) to rollup_pending,
 * one row per level holding one array per column, committed with the values they summarise.
 * Every instance merges pending deltas into the rollup tables every ROLLUP_APPLY_INTERVAL_MS,
 * one merge at a time across instances (an advisory lock per level), deleting the rows it
 * merged in the same transaction: each delta counts exactly once. Aggregate reads add the
 * pending deltas to the rollup rows (rollup-query.ts), so answers are exact at every moment.
 *
 * PERF: a transaction writes one row instead of one upsert per series and bucket (an upsert
 * locks, updates and logs a row each time), and a merge applies many transactions' deltas to
 * each bucket at once.
 *
 * A value that replaced a stored one (a retry) cannot be merged as a delta: its buckets are
 * rebuilt from point_data, by a merge that takes every pending delta of the level in the same
 * statement (one snapshot), leaves out the deltas of the rebuilt buckets (point_data already
 * holds their values) and sets those buckets from point_data.
 */

/** Bucket sizes, in milliseconds, and tables of the rollup levels. */
export const ROLLUP_LEVELS: readonly { readonly form: RollupForm; readonly ms: number; readonly table: PgTable; readonly interval: string }[] = [
  { form: 'ROLLUP_1M', ms: 60_000, table: rollup1m, interval: '1 minute' },
  { form: 'ROLLUP_1H', ms: 3_600_000, table: rollup1h, interval: '1 hour' },
  { form: 'ROLLUP_1D', ms: 86_400_000, table: rollup1d, interval: '1 day' },
];
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

/** First key of the advisory locks (the second is the level's index) held by a merge. */
const APPLY_LOCK_KEY = 72_627;
/** Pending rows merged per statement by the periodic merge. */
const APPLY_BATCH_ROWS = 500;

// NOTE: times travel as epoch milliseconds (int8 arrays) and are converted server side, exactly.
const EPOCH = sql`'epoch'::timestamptz`;
const MS = sql`interval '1 millisecond'`;

/**
 * The deltas of one level, as the texts of array literal elements, one element per (device,
 * point, bucket). A bucket of ONE value (the usual case) sends its value once, as the sum, and
 * its time once, as the first time: min, max, first and last value and last time are NULL.
 */
export interface RollupDeltas {
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

/** A bucket of one series, its start in epoch milliseconds. */
export interface SeriesBucket {
  readonly d: number;
  readonly p: number;
  readonly bucket: number;
}

/** The statement that appends the deltas of a level to the journal. */
export function appendDeltasStatement(level: RollupLevel, m: RollupDeltas): SQL {
  const col = (elements: readonly string[], type: string) => sql`${sql.param(`{${elements.join(',')}}`)}::${sql.raw(type)}`;
  return sql`insert into rollup_pending (level, device_ids, point_ids, buckets_ms, counts, sums, mins, maxs, first_times_ms, first_values, last_times_ms, last_values)
        values (${level.form}, ${col(m.d, 'int[]')}, ${col(m.p, 'int[]')}, ${col(m.b, 'int8[]')}, ${col(m.c, 'int[]')}, ${col(m.s, 'float8[]')}, ${col(m.lo, 'float8[]')}, ${col(m.hi, 'float8[]')},
                ${col(m.ft, 'int8[]')}, ${col(m.fv, 'float8[]')}, ${col(m.lt, 'int8[]')}, ${col(m.lv, 'float8[]')})`;
}

/**
 * The pending deltas of a level for some devices and points over [fromMs, toMs), shaped like the
 * rollup table's rows (NULL elements read as a one-value bucket), for reads that add them to it.
 */
export function pendingDeltasSql(level: RollupLevel, deviceIds: SQL, pointIds: SQL, fromMs: number, toMs: number): SQL {
  return sql`select x.d as device_id, x.p as point_id, ${EPOCH} + x.b * ${MS} as bucket, x.c as count, x.s as sum, coalesce(x.lo, x.s) as min, coalesce(x.hi, x.s) as max,
                    ${EPOCH} + x.ft * ${MS} as first_time, coalesce(x.fv, x.s) as first_value, ${EPOCH} + coalesce(x.lt, x.ft) * ${MS} as last_time, coalesce(x.lv, x.s) as last_value
             from rollup_pending as r,
                  unnest(r.device_ids, r.point_ids, r.buckets_ms, r.counts, r.sums, r.mins, r.maxs, r.first_times_ms, r.first_values, r.last_times_ms, r.last_values)
                    as x(d, p, b, c, s, lo, hi, ft, fv, lt, lv)
             where r.level = ${level.form} and x.d = any(${deviceIds}) and x.p = any(${pointIds}) and x.b >= ${fromMs}::int8 and x.b < ${toMs}::int8`;
}

/**
 * One merge statement: deletes pending rows of the level (all of them, or the oldest `limit`),
 * merges their deltas into the rollup table, except those of the `rebuild` buckets, which are
 * set from point_data instead. Returns how many pending rows it took.
 */
function mergeStatement(level: RollupLevel, rebuild: readonly SeriesBucket[], limit: number | null): SQL {
  const table = level.table;
  const taken = limit === null ? sql`level = ${level.form}` : sql`id in (select id from rollup_pending where level = ${level.form} order by id limit ${limit})`;
  const rk = rebuild.length
    ? sql`, rk as (select u.d, u.p, u.b from unnest(${sql.param(numArray(rebuild.map((k) => k.d)))}::int[], ${sql.param(numArray(rebuild.map((k) => k.p)))}::int[], ${sql.param(numArray(rebuild.map((k) => k.bucket)))}::int8[]) as u(d, p, b))`
    : sql``;
  const rebuilt = rebuild.length
    ? sql`, rebuilt as (
        insert into ${table} as r (device_id, point_id, bucket, count, sum, min, max, first_time, first_value, last_time, last_value)
        select k.d, k.p, ${EPOCH} + k.b * ${MS}, count(*)::int, ${unscale(sql`sum(x.num * ${SCALE})`)}, min(x.num), max(x.num),
               min(x.time), (array_agg(x.num order by x.time asc))[1], max(x.time), (array_agg(x.num order by x.time desc))[1]
        from rk as k
        join point_data x on x.device_id = k.d and x.point_id = k.p and x.time >= ${EPOCH} + k.b * ${MS} and x.time < ${EPOCH} + k.b * ${MS} + ${level.interval}::interval
        where x.num is not null
        group by k.d, k.p, k.b
        order by k.d, k.p, k.b
        on conflict (device_id, point_id, bucket) do update set
          count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max,
          first_time = excluded.first_time, first_value = excluded.first_value, last_time = excluded.last_time, last_value = excluded.last_value
        returning 1)`
    : sql``;
  // NOTE: sums add scaled values (query/float-sql.ts): a merge never fails on an overflow, which
  // would hold every later delta of the level in the journal; a sum beyond a double is stored as
  // +-Infinity, and the aggregate router then answers AVG and SUM from raw data.
  // PERF: deltas are merged in epoch milliseconds, converted once per merged row; first and last
  // are the least and greatest [time, value] pairs (array comparison: by time first), which lets
  // the grouping hash instead of sorting each group (a retried time, the only tie, is rebuilt).
  return sql`with taken as (delete from rollup_pending where ${taken} returning *)${rk},
    deltas as (
      select x.d, x.p, x.b, x.c, x.s, coalesce(x.lo, x.s) as lo, coalesce(x.hi, x.s) as hi,
             array[x.ft::float8, coalesce(x.fv, x.s)] as f, array[coalesce(x.lt, x.ft)::float8, coalesce(x.lv, x.s)] as l
      from taken,
           unnest(taken.device_ids, taken.point_ids, taken.buckets_ms, taken.counts, taken.sums, taken.mins, taken.maxs, taken.first_times_ms, taken.first_values, taken.last_times_ms, taken.last_values)
             as x(d, p, b, c, s, lo, hi, ft, fv, lt, lv)
      ${rebuild.length ? sql`where not exists (select 1 from rk where rk.d = x.d and rk.p = x.p and rk.b = x.b)` : sql``}),
    merged as (
      select d, p, b, sum(c)::int as c, ${unscale(sql`sum(s * ${SCALE})`)} as s, min(lo) as lo, max(hi) as hi, min(f) as f, max(l) as l
      from deltas group by d, p, b),
    applied as (
      insert into ${table} as r (device_id, point_id, bucket, count, sum, min, max, first_time, first_value, last_time, last_value)
      select d, p, ${EPOCH} + b * ${MS}, c, s, lo, hi, ${EPOCH} + f[1]::int8 * ${MS}, f[2], ${EPOCH} + l[1]::int8 * ${MS}, l[2]
      from merged order by d, p, b
      on conflict (device_id, point_id, bucket) do update set
        count = r.count + excluded.count,
        sum = ${unscale(sql`(r.sum * ${SCALE} + excluded.sum * ${SCALE})`)},
        min = least(r.min, excluded.min),
        max = greatest(r.max, excluded.max),
        first_time = case when excluded.first_time < r.first_time then excluded.first_time else r.first_time end,
        first_value = case when excluded.first_time < r.first_time then excluded.first_value else r.first_value end,
        last_time = case when excluded.last_time > r.last_time then excluded.last_time else r.last_time end,
        last_value = case when excluded.last_time > r.last_time then excluded.last_value else r.last_value end
      returning 1)${rebuilt}
    select (select count(*) from taken)::int as taken, (select count(*) from applied)::int as applied${rebuild.length ? sql`, (select count(*) from rebuilt)::int as rebuilt` : sql``}`;
}

const levelIndex = (level: RollupLevel) => ROLLUP_LEVELS.indexOf(level);

/**
 * Merges every pending delta of `level` visible to the transaction into its table and rebuilds
 * the `rebuild` buckets from point_data; waits for a merge running elsewhere. The lock is taken
 * before the merge statement, so that its snapshot holds everything an earlier merge applied.
 */
export async function mergePending(tx: DbOrTx, level: RollupLevel, rebuild: readonly SeriesBucket[] = []): Promise<void> {
  await queryRows(tx, sql`select pg_advisory_xact_lock(${APPLY_LOCK_KEY}::int, ${levelIndex(level)}::int)`);
  await queryRows(tx, mergeStatement(level, rebuild, null));
}

/** Merges the whole journal, each level in its own transaction, waiting for merges running elsewhere (retention, tests). */
export async function mergeJournal(db: Db): Promise<void> {
  for (const level of ROLLUP_LEVELS) await db.transaction((tx) => mergePending(tx, level));
}

/**
 * One periodic pass: for each level, unless a merge holds it, merges pending rows in batches,
 * each batch its own short transaction. Returns the pending rows merged.
 */
export async function mergeJournalBatches(db: Db): Promise<number> {
  let total = 0;
  for (const level of ROLLUP_LEVELS) {
    for (;;) {
      const taken = await db.transaction(async (tx) => {
        const [lock] = await queryRows<{ locked: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${APPLY_LOCK_KEY}::int, ${levelIndex(level)}::int) as locked`);
        if (!lock?.locked) return 0;
        const [r] = await queryRows<{ taken: number }>(tx, mergeStatement(level, [], APPLY_BATCH_ROWS));
        return Number(r?.taken ?? 0);
      });
      total += taken;
      if (taken < APPLY_BATCH_ROWS) break;
    }
  }
  return total;
}

/** Rows of the journal not merged yet, per level (levels without any are absent). */
export async function countPendingRows(db: Db): Promise<Record<string, number>> {
  const rows = await queryRows<{ level: string; n: number }>(db, sql`select level, count(*)::int as n from rollup_pending group by level`);
  return Object.fromEntries(rows.map((r) => [r.level, Number(r.n)]));
}

/** Starts merging pending rollup deltas every `intervalMs` (a pass never overlaps the previous one). */
export function startRollupMerger(db: Db, opts: { readonly intervalMs: number; readonly log?: Logger }): PeriodicTask {
  return startPeriodicTask('rollup merge', opts.intervalMs, () => mergeJournalBatches(db), opts.log);
}
