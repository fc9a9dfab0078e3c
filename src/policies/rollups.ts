import type { SQL } from 'drizzle-orm';
import { byDevicePointTime, inOrder } from '../ingest/point-order';
import type { PointRecord } from '../ingest/types';
import { appendDeltasStatement, ROLLUP_LEVELS, type RollupDeltas, type RollupLevel, type SeriesBucket } from './rollup-journal';
import type { RollupForm } from './types';

/*
 * Rollups: per device, point and bucket (1 minute, 1 hour, 1 day, UTC, aligned to the epoch):
 * count, sum, min, max, first and last (value and time). Their deltas are computed in the ingest
 * transaction after the rows are stored (once per transaction, for all its batches) and appended
 * to the rollup journal (rollup-journal.ts), which merges them into the rollup tables:
 * - values new to the series are pre-aggregated per bucket (so late and offline data land in
 *   their buckets, and first/last compare times);
 * - values that replaced a stored one (a retried (device, point, time)) would be counted twice
 *   by a merge, so their buckets are rebuilt from point_data instead (ingest reports which
 *   keys its upsert replaced, see ingest/replaced-keys.ts).
 */

/** A point value and the rollup levels its storage policy keeps. */
export interface RollupInput {
  readonly point: PointRecord;
  readonly levels: readonly RollupForm[];
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

/** What a transaction's values do to the rollups: journal appends, and buckets to rebuild per level. */
export interface RollupWrites {
  /** Statements appending deltas to the journal (to combine with the other derived writes). */
  readonly append: SQL[];
  /** Buckets of retried values, to rebuild from point_data (rollup-journal.ts mergePending). */
  readonly rebuild: { readonly level: RollupLevel; readonly buckets: SeriesBucket[] }[];
}

/**
 * The rollup writes of the given values (numeric values only) at the levels each one is kept,
 * to run after the points are stored (see hooks.ts). `items` may hold several values for one
 * key (batches of one transaction): the last one is what point_data holds, so it is the one
 * counted. `replaced` holds the series keys that overwrote a value stored before: their buckets
 * are rebuilt.
 */
export function rollupWrites(items: readonly RollupInput[], replaced: { has(deviceId: number, pointId: number, time: number): boolean }): RollupWrites {
  const rows = lastPerKey(items);
  const out: RollupWrites = { append: [], rebuild: [] };
  for (const level of ROLLUP_LEVELS) {
    const m: RollupDeltas = { d: [], p: [], b: [], c: [], s: [], lo: [], hi: [], ft: [], fv: [], lt: [], lv: [] };
    const rebuild: SeriesBucket[] = [];
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
      // NOTE: a bucket that is rebuilt from point_data already includes the batch's new values.
      if (anyReplaced) rebuild.push({ d, p, bucket });
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
    if (m.d.length) out.append.push(appendDeltasStatement(level, m));
    if (rebuild.length) out.rebuild.push({ level, buckets: rebuild });
  }
  return out;
}
