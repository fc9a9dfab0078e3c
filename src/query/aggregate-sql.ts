import { sql, type SQL } from 'drizzle-orm';
import { bucketOf, type BucketDialect, type BucketSpec } from './buckets';
import { numericToDouble, SCALE, unscale } from './float-sql';
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

// NOTE: no aggregate may overflow for finite stored doubles (float-sql.ts): AVG and SUM add scaled
// values, STDDEV runs in numeric; a SUM or STDDEV beyond a double comes back as +-Infinity.
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
