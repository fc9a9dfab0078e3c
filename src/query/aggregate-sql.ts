import { sql, type SQL } from 'drizzle-orm';
import { bucketOf, type BucketDialect, type BucketSpec } from './buckets';
import { epochMs, intArray, tsParam } from './sql-util';

/** Aggregate functions of the query API. */
export const AGGREGATE_FUNCTIONS = ['AVG', 'MIN', 'MAX', 'SUM', 'COUNT', 'FIRST', 'LAST', 'STDDEV'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** One output column: a function over one point. */
export interface AggregateColumnSpec {
  readonly pointId: number;
  readonly fn: AggregateFunction;
}

/** What {@link aggregateSql} computes. */
export interface AggregateQuery {
  readonly deviceIds: readonly number[];
  readonly columns: readonly AggregateColumnSpec[];
  readonly fromMs: number;
  readonly toMs: number;
  readonly bucket: BucketSpec;
}

/*
 * Any finite double is a valid stored value, and PostgreSQL raises an error when float8
 * arithmetic overflows: avg(float8) and stddev_samp(float8) keep a sum of squares (overflows from
 * about 1.3e154), sum(float8) a sum. An error part-way through a result also ends the statement
 * for everyone waiting on that connection, so aggregates here cannot overflow:
 * - AVG and SUM add the values scaled by 2^-30 (exact: a power of two; only values below about
 *   2.4e-299 lose precision), so the sum of up to 2^30 values per bucket stays finite, and AVG is
 *   rounded exactly as avg(float8) would round it;
 * - STDDEV runs in numeric;
 * - a SUM or STDDEV beyond the range of a double comes back as +-Infinity, which the caller turns
 *   into a clear error (GraphQL's Float cannot carry it).
 */
const SCALE = sql`0.000000000931322574615478515625::float8`; // 2^-30
const DOUBLE_MAX = sql`1.7976931348623157e308`;

/** A float8 expression `x` (already scaled by 2^-30) back to scale, or +-Infinity beyond a double. */
function unscale(x: SQL): SQL {
  return sql`(case when abs(${x}) <= ${DOUBLE_MAX}::float8 * ${SCALE} then ${x} / ${SCALE} else sign(${x}) * 'Infinity'::float8 end)`;
}

/** A numeric expression as float8, or +-Infinity beyond a double. */
function numericToDouble(x: SQL): SQL {
  return sql`(case when abs(${x}) <= ${DOUBLE_MAX}::numeric then ${x}::float8 else sign(${x})::float8 * 'Infinity'::float8 end)`;
}

/** The SQL expression of one column over the rows of a (device, bucket) group. */
function columnExpr(c: AggregateColumnSpec): SQL {
  const only = sql`filter (where point_id = ${c.pointId}::int)`;
  switch (c.fn) {
    case 'AVG':
      return sql`((sum(num * ${SCALE}) ${only}) / nullif(count(num) ${only}, 0)) / ${SCALE}`;
    case 'MIN':
      return sql`min(num) ${only}`;
    case 'MAX':
      return sql`max(num) ${only}`;
    case 'SUM':
      return unscale(sql`(sum(num * ${SCALE}) ${only})`);
    case 'COUNT':
      return sql`(count(*) ${only})::float8`;
    case 'FIRST':
      return sql`(array_agg(num order by time asc) ${only})[1]`;
    case 'LAST':
      return sql`(array_agg(num order by time desc) ${only})[1]`;
    case 'STDDEV':
      return numericToDouble(sql`(stddev_samp(num::numeric) ${only})`);
    default: {
      const never: never = c.fn;
      return never;
    }
  }
}

/**
 * The aggregate SQL: one row per (device, bucket) that holds data, with columns `c0..cN` in the
 * order of `q.columns`, bucket start `t` in epoch ms; ordered by device then bucket.
 *
 * NOTE: this is the only place that aggregates raw point data, so that a later storage policy
 * can route a query to a rollup table instead (the columns and row shape are the contract).
 */
export function aggregateSql(dialect: BucketDialect, q: AggregateQuery): SQL {
  const pointIds = [...new Set(q.columns.map((c) => c.pointId))];
  const cols = sql.join(
    q.columns.map((c, i) => sql`${columnExpr(c)} as ${sql.identifier(`c${i}`)}`),
    sql`, `,
  );
  return sql`select device_id, ${epochMs(sql`bucket`)} as t, ${sql.join(
    q.columns.map((_, i) => sql.identifier(`c${i}`)),
    sql`, `,
  )}
    from (
      select device_id, ${bucketOf(dialect, q.bucket, sql`time`)} as bucket, ${cols}
      from point_data
      where device_id = any(${intArray(q.deviceIds)}) and point_id = any(${intArray(pointIds)})
        and time >= ${tsParam(q.fromMs)} and time < ${tsParam(q.toMs)}
      group by 1, 2
    ) as a
    order by device_id, bucket`;
}
