import { and, eq, inArray } from 'drizzle-orm';
import { sql, type SQL } from 'drizzle-orm';
import type { AggregateColumnSpec, AggregateQuery } from '../query/aggregate-sql';
import type { AggregateRouter } from '../query/aggregates';
import { bucketOf, type BucketDialect, type BucketSpec } from '../query/buckets';
import { notFinite, SCALE, unscale } from '../query/float-sql';
import { epochMs, intArray, tsParam } from '../query/sql-util';
import { queryRows } from '../storage/db';
import type { DbOrTx } from '../storage/db';
import { rollupCoverage } from '../storage/schema/index';
import type { PolicyCache } from './cache';
import { isNumericType } from './numeric';
import { pendingDeltasSql, ROLLUP_LEVELS, type RollupLevel } from './rollup-journal';
import type { RollupForm } from './types';

/*
 * Routes aggregate queries to rollups when they answer exactly: every function derivable from
 * (count, sum, min, max, first, last) - so not STDDEV; query buckets made of whole rollup
 * buckets (width a multiple of the rollup size, the grid origin and the range bounds aligned to
 * it); and every point of the query stores that rollup level, completely for the range (see
 * rollup_coverage) and within its retention. The coarsest such level wins; otherwise raw data.
 */

const DAY_MS = 86_400_000;

/** Offset in seconds of a fixed timezone (UTC or +HH:MM), null for named zones (DST). */
function fixedOffsetS(timezone: string): number | null {
  if (timezone === 'UTC' || timezone === 'Etc/UTC' || timezone === 'Z') return 0;
  const m = /^([+-])(\d\d):(\d\d)$/.exec(timezone);
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60);
}

/** Rollup levels that tile the query's buckets and range exactly, coarsest first. */
export function alignedLevels(spec: BucketSpec, fromMs: number, toMs: number): RollupLevel[] {
  const offset = fixedOffsetS(spec.timezone);
  if (offset === null) return [];
  return [...ROLLUP_LEVELS].reverse().filter((l) => {
    const s = l.ms / 1000;
    return spec.seconds % s === 0 && offset % s === 0 && fromMs % l.ms === 0 && toMs % l.ms === 0;
  });
}

function columnExpr(c: AggregateColumnSpec): SQL | null {
  const only = sql`filter (where point_id = ${c.pointId}::int)`;
  switch (c.fn) {
    case 'AVG':
      return sql`((sum(sum * ${SCALE}) ${only} / nullif(sum(count) ${only}, 0)) / ${SCALE})`;
    case 'MIN':
      return sql`min(min) ${only}`;
    case 'MAX':
      return sql`max(max) ${only}`;
    case 'SUM':
      return unscale(sql`(sum(sum * ${SCALE}) ${only})`);
    case 'COUNT':
      return sql`(sum(count) ${only})::float8`;
    case 'FIRST':
      return sql`(array_agg(first_value order by first_time asc) ${only})[1]`;
    case 'LAST':
      return sql`(array_agg(last_value order by last_time desc) ${only})[1]`;
    case 'STDDEV':
      return null;
    default: {
      const never: never = c.fn;
      return never;
    }
  }
}

/**
 * The aggregate SQL over one rollup level: its table's rows plus the deltas still pending in the
 * rollup journal (both are partial aggregates of their buckets); the same row shape as the raw
 * aggregateSql.
 */
export function rollupAggregateSql(dialect: BucketDialect, q: AggregateQuery, level: RollupLevel): SQL | null {
  const exprs = q.columns.map(columnExpr);
  if (exprs.some((e) => e === null)) return null;
  const pointIds = [...new Set(q.columns.map((c) => c.pointId))];
  const cols = sql.join(
    exprs.map((e, i) => sql`${e!} as ${sql.identifier(`c${i}`)}`),
    sql`, `,
  );
  return sql`select device_id, ${epochMs(sql`b`)} as t, ${sql.join(
    q.columns.map((_, i) => sql.identifier(`c${i}`)),
    sql`, `,
  )}
    from (
      select device_id, ${bucketOf(dialect, q.bucket, sql`bucket`)} as b, ${cols}
      from (
        select device_id, point_id, bucket, count, sum, min, max, first_time, first_value, last_time, last_value
        from ${level.table}
        where device_id = any(${intArray(q.deviceIds)}) and point_id = any(${intArray(pointIds)})
          and bucket >= ${tsParam(q.fromMs)} and bucket < ${tsParam(q.toMs)}
        union all
        ${pendingDeltasSql(level, intArray(q.deviceIds), intArray(pointIds), q.fromMs, q.toMs)}
      ) as r
      group by 1, 2
    ) as a
    order by device_id, b`;
}

/** Whether every point stores `form` completely over [fromMs, now) and within its retention. */
async function covered(db: DbOrTx, cache: PolicyCache, modelId: number, pointIds: readonly number[], form: RollupForm, fromMs: number, nowMs: number): Promise<boolean> {
  const pol = (await cache.get(db, [modelId])).get(modelId);
  if (!pol) return false;
  for (const id of pointIds) {
    const point = pol.points.find((p) => p.id === id);
    const storage = pol.storageByPoint.get(id);
    const f = storage?.forms.find((x) => x.form === form);
    if (!point?.type || !isNumericType(point.type.dataType) || !f || !storage) return false;
    if (fromMs < nowMs - f.retentionDays * DAY_MS) return false;
  }
  const rows = await db
    .select({ pointId: rollupCoverage.pointId, since: rollupCoverage.since })
    .from(rollupCoverage)
    .where(and(inArray(rollupCoverage.pointId, [...pointIds]), eq(rollupCoverage.form, form)));
  const since = new Map(rows.map((r) => [r.pointId, r.since.getTime()]));
  return pointIds.every((id) => {
    const s = since.get(id);
    // No record: the form comes from the service default, kept since the start.
    if (s === undefined) return pol.storageByPoint.get(id)?.source === 'SERVICE_DEFAULT';
    return s <= fromMs;
  });
}

/**
 * Whether some rollup sum the query would add is not a finite double (a bucket whose sum exceeds
 * the range of a double is stored as +-Infinity): AVG and SUM are then answered from raw data.
 */
async function hasUnboundedSum(db: DbOrTx, q: AggregateQuery, level: RollupLevel, pointIds: readonly number[]): Promise<boolean> {
  const devices = intArray(q.deviceIds);
  const points = intArray(pointIds);
  const rows = await queryRows<{ x: boolean }>(
    db,
    sql`select (exists (select 1 from ${level.table} where device_id = any(${devices}) and point_id = any(${points}) and bucket >= ${tsParam(q.fromMs)} and bucket < ${tsParam(q.toMs)} and ${notFinite(sql`sum`)})
            or exists (select 1 from (${pendingDeltasSql(level, devices, points, q.fromMs, q.toMs)}) as p where ${notFinite(sql`p.sum`)})) as x`,
  );
  return rows[0]?.x === true;
}

/** An {@link AggregateRouter} that answers from rollups when they are exact. */
export function createRollupRouter(cache: PolicyCache, now: () => number = Date.now): AggregateRouter {
  return async (db, dialect, modelId, q) => {
    if (q.columns.some((c) => c.fn === 'STDDEV' || c.pointId < 0)) return null;
    const pointIds = [...new Set(q.columns.map((c) => c.pointId))];
    const sums = [...new Set(q.columns.filter((c) => c.fn === 'AVG' || c.fn === 'SUM').map((c) => c.pointId))];
    for (const level of alignedLevels(q.bucket, q.fromMs, q.toMs)) {
      if (!(await covered(db, cache, modelId, pointIds, level.form, q.fromMs, now()))) continue;
      // PERF: one indexed probe, only when the query adds sums.
      if (sums.length && (await hasUnboundedSum(db, q, level, sums))) return null;
      return rollupAggregateSql(dialect, q, level);
    }
    return null;
  };
}
