import { sql, type SQL } from 'drizzle-orm';
import { badInput } from '../errors';

/** A timestamptz constant for epoch milliseconds (a literal, so TimescaleDB excludes chunks at plan time). */
export function tsParam(ms: number): SQL {
  return sql`${new Date(ms).toISOString()}::timestamptz`;
}

/** Epoch milliseconds of a timestamptz column as a float8 (a JS number on both drivers; exact below 2^53). */
export function epochMs(column: SQL): SQL {
  return sql`floor(extract(epoch from ${column}) * 1000)::float8`;
}

/** An int[] parameter bound as one value. */
export function intArray(ids: readonly number[]): SQL {
  return sql`${sql.param([...ids])}::int[]`;
}

/**
 * The rows of the given devices and features (points or events) of a time-series table whose
 * primary key is (device_id, feature, time).
 * PERF: one series is written as two equalities, so that the primary key is read in time order and
 * a page stops at its end; `= any(...)` hides that both are fixed, and every row of the range was
 * read and sorted (a page of 1,000 of a day's 1,440 points: 4.4 -> 1.6 ms of execution).
 */
export function seriesWhere(feature: 'point_id' | 'event_id', deviceIds: readonly number[], featureIds: readonly number[]): SQL {
  const column = sql.raw(feature);
  return deviceIds.length === 1 && featureIds.length === 1
    ? sql`device_id = ${deviceIds[0]}::int and ${column} = ${featureIds[0]}::int`
    : sql`device_id = any(${intArray(deviceIds)}) and ${column} = any(${intArray(featureIds)})`;
}

/** Checks a [from, to) range given in epoch milliseconds. */
export function checkRange(fromMs: number, toMs: number): void {
  if (!(toMs >= fromMs)) throw badInput('to must not be before from', { from: fromMs, to: toMs });
}

/** The typed value columns of a stored point value. */
export interface ValueColumns {
  readonly num: number | null;
  readonly bool: boolean | null;
  readonly txt: string | null;
  readonly json: unknown;
}

/** Turns typed value columns back into the JSON value that was sent. */
export function valueOf(r: ValueColumns): unknown {
  return r.num ?? r.bool ?? r.txt ?? r.json ?? null;
}
