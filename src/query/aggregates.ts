import type { Access } from '../auth/permissions';
import { badInput } from '../errors';
import { queryRows, type DbOrTx } from '../storage/db';
import type { SQL } from 'drizzle-orm';
import { aggregateSql, type AggregateColumnSpec, type AggregateFunction, type AggregateQuery } from './aggregate-sql';
import { bucketStartsSql, estimateBuckets, firstBucketStartSql, parseBucketSpec, type BucketDialect, type BucketSpec } from './buckets';
import type { ModelCache } from '../ingest/model-cache';
import { deviceFeatures, isNumeric, selectDevices, type DeviceSelector } from './selection';
import { checkRange } from './sql-util';
import { AGGREGATE_ADVICE, type QueryBudget } from './query-budget';
import { createLoopYielder } from './yield-loop';

/**
 * Answers an aggregate of one model's devices from another source (storage policies' rollups)
 * when it can do so exactly: returns SQL with the row shape of {@link aggregateSql}, or null for
 * the raw data.
 */
export type AggregateRouter = (db: DbOrTx, dialect: BucketDialect, modelId: number, q: AggregateQuery) => Promise<SQL | null>;

/** How buckets without data appear. */
export type GapFill = 'NONE' | 'NULL' | 'PREVIOUS';

/** Bounds of an aggregate query (from config). */
export interface AggregateLimits {
  /** QUERY_MAX_SERIES: devices x aggregates. */
  readonly maxSeries: number;
  /** QUERY_MAX_AGGREGATE_VALUES: devices x aggregates x buckets. */
  readonly maxValues: number;
}

/** Arguments of {@link getPointAggregates}. */
export interface AggregateArgs {
  readonly devices: DeviceSelector;
  readonly aggregates: readonly { readonly point: string; readonly function: AggregateFunction }[];
  readonly from: number;
  readonly to: number;
  readonly interval: string;
  readonly timezone?: string | null | undefined;
  readonly fill?: GapFill | null | undefined;
}

/** One device's buckets, columnar. */
export interface DeviceAggregates {
  readonly assetId: string;
  readonly times: number[];
  readonly columns: { readonly point: string; readonly function: AggregateFunction; readonly values: (number | null)[] }[];
}

/** A zone that Intl knows but the database does not (22023) is the caller's mistake. */
function unknownZone(err: unknown): never {
  const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  if (code === '22023') throw badInput('timezone is not known to the database', {});
  throw err;
}

type AggRow = { device_id: number; t: number } & Record<string, number | null>;

/**
 * A SUM or STDDEV of finite doubles can exceed the range of a double; the SQL answers it as
 * +-Infinity (never an error mid-result), which GraphQL's Float cannot carry: refuse the query.
 */
function checkInRange(rows: readonly AggRow[], aggregates: AggregateArgs['aggregates']): void {
  aggregates.forEach((a, i) => {
    if (a.function !== 'SUM' && a.function !== 'STDDEV') return;
    const key = `c${i}`;
    for (const r of rows) {
      const v = r[key];
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw badInput(`the ${a.function} of ${a.point} exceeds the range of a double (about 1.8e308) in at least one bucket: ask for shorter intervals, or for AVG`, { point: a.point, function: a.function });
      }
    }
  });
}

function isAscending(rows: readonly AggRow[]): boolean {
  for (let i = 1; i < rows.length; i++) if (rows[i - 1]!.t > rows[i]!.t) return false;
  return true;
}

/**
 * Every bucket start in [from, to), epoch ms. Calendar buckets (whole days in a timezone) come
 * from the database, which knows the zone's DST rules; fixed-length ones are counted from the
 * first in steps of the width.
 *
 * PERF: a million 1-second buckets as rows from the database would cost about as much memory and
 * parsing as the aggregate itself.
 */
async function listBucketStarts(db: DbOrTx, dialect: BucketDialect, spec: BucketSpec, from: number, to: number, yielder: ReturnType<typeof createLoopYielder>): Promise<number[]> {
  const fromIso = new Date(from).toISOString();
  if (spec.calendar) return (await queryRows<{ t: number }>(db, bucketStartsSql(dialect, spec, fromIso, new Date(to).toISOString())).catch(unknownZone)).map((r) => r.t);
  const [first] = await queryRows<{ t: number }>(db, firstBucketStartSql(dialect, spec, fromIso)).catch(unknownZone);
  const starts: number[] = [];
  const widthMs = spec.seconds * 1000;
  for (let t = first!.t; t < to; t += widthMs) {
    starts.push(t);
    const pause = yielder.tick();
    if (pause) await pause;
  }
  return starts;
}

/**
 * Aggregates of points of devices over time buckets of [from, to). Devices without data are
 * present with no buckets (fill NONE) or with empty buckets (NULL, PREVIOUS). The values it may
 * return (series x buckets) are charged to `budget` before the database is asked; assembling
 * the buckets yields to the event loop.
 */
export async function getPointAggregates(db: DbOrTx, dialect: BucketDialect, access: Access, limits: AggregateLimits, args: AggregateArgs, router?: AggregateRouter, models?: ModelCache, budget?: QueryBudget): Promise<DeviceAggregates[]> {
  checkRange(args.from, args.to);
  if (!args.aggregates.length) throw badInput('name at least one aggregate');
  const spec = parseBucketSpec(args.interval, args.timezone);
  const fill = args.fill ?? 'NONE';
  const devs = await selectDevices(db, access, args.devices);
  const index = await deviceFeatures(db, devs, 'MEASUREPOINT', models);

  const series = devs.length * args.aggregates.length;
  if (series > limits.maxSeries) throw badInput(`an aggregate query reads at most ${limits.maxSeries} device x aggregate series (QUERY_MAX_SERIES); this one reads ${series}`, { max: limits.maxSeries, requested: series });
  const values = series * estimateBuckets(spec, args.from, args.to);
  if (values > limits.maxValues) throw badInput(`an aggregate query returns at most ${limits.maxValues} values (QUERY_MAX_AGGREGATE_VALUES); this one would return up to ${values}: use a longer interval or a shorter range`, { max: limits.maxValues, requested: values });

  // Each aggregate must name a point of some device's model, numeric unless counted.
  for (const a of args.aggregates) {
    const feats = devs.flatMap((d) => (index.get(d.modelId)?.get(a.point) ? [index.get(d.modelId)!.get(a.point)!] : []));
    if (devs.length && !feats.length) throw badInput(`unknown measurement point ${a.point}`, { identifier: a.point });
    if (a.function !== 'COUNT' && feats.some((f) => !isNumeric(f))) throw badInput(`${a.function} needs a numeric point; ${a.point} is ${feats.find((f) => !isNumeric(f))?.type?.dataType}`, { identifier: a.point });
  }
  if (!devs.length) return [];
  await budget?.charge(values, { advice: AGGREGATE_ADVICE });
  const yielder = createLoopYielder();

  // Per model, the column specs (point ids differ between models sharing an identifier).
  const out: DeviceAggregates[] = [];
  const byModel = new Map<number, typeof devs>();
  for (const d of devs) byModel.set(d.modelId, [...(byModel.get(d.modelId) ?? []), d]);
  const rowsByDevice = new Map<number, AggRow[]>();
  for (const [modelId, group] of byModel) {
    const feats = index.get(modelId);
    const columns: AggregateColumnSpec[] = args.aggregates.map((a) => ({ pointId: feats?.get(a.point)?.id ?? -1, fn: a.function }));
    const q: AggregateQuery = { deviceIds: group.map((d) => d.id), columns, fromMs: args.from, toMs: args.to, bucket: spec };
    const rows = await queryRows<AggRow>(db, (await router?.(db, dialect, modelId, q)) ?? aggregateSql(dialect, q)).catch(unknownZone);
    checkInRange(rows, args.aggregates);
    for (const r of rows) {
      const list = rowsByDevice.get(r.device_id);
      if (list) list.push(r);
      else rowsByDevice.set(r.device_id, [r]);
      const pause = yielder.tick();
      if (pause) await pause;
    }
  }
  const starts = fill === 'NONE' ? null : await listBucketStarts(db, dialect, spec, args.from, args.to, yielder);

  const isCount = args.aggregates.map((a) => a.function === 'COUNT');
  const keys = args.aggregates.map((_, i) => `c${i}`);
  for (const d of devs) {
    const rows = rowsByDevice.get(d.id) ?? [];
    const columns = args.aggregates.map((a) => ({ point: a.point, function: a.function, values: [] as (number | null)[] }));
    if (!starts) {
      // PERF: plain loops over precomputed column keys; a call may return hundreds of thousands of values.
      const n = rows.length;
      const times: number[] = new Array(n);
      for (let j = 0; j < n; j++) {
        times[j] = rows[j]!.t;
        const pause = yielder.tick();
        if (pause) await pause;
      }
      for (let i = 0; i < columns.length; i++) {
        const key = keys[i]!;
        const values: (number | null)[] = (columns[i]!.values = new Array(n));
        for (let j = 0; j < n; j++) {
          values[j] = rows[j]![key] ?? null;
          const pause = yielder.tick();
          if (pause) await pause;
        }
      }
      out.push({ assetId: d.assetId, times, columns });
      continue;
    }
    // The rows come ordered by bucket (aggregateSql and the rollup routes both say so): one merge walk, no map of a million buckets.
    if (!isAscending(rows)) rows.sort((a, b) => a.t - b.t);
    let j = 0;
    const prev: (number | null)[] = columns.map(() => null);
    for (const t of starts) {
      while (j < rows.length && rows[j]!.t < t) j++;
      const r = rows[j]?.t === t ? rows[j] : undefined;
      for (let i = 0; i < columns.length; i++) {
        const c = columns[i]!;
        const v = r?.[keys[i]!] ?? null;
        if (isCount[i]) c.values.push(v ?? 0);
        else if (v !== null) c.values.push((prev[i] = v));
        else c.values.push(fill === 'PREVIOUS' ? (prev[i] ?? null) : null);
      }
      const pause = yielder.tick();
      if (pause) await pause;
    }
    out.push({ assetId: d.assetId, times: starts, columns });
  }
  return out;
}
