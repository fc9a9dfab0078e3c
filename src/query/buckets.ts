import { sql, type SQL } from 'drizzle-orm';
import { badInput } from '../errors';
import { isValidTimezone } from '../registry/devices';

/**
 * Time buckets: the one place that knows the SQL dialect. TimescaleDB uses `time_bucket`,
 * plain PostgreSQL and PGlite `date_bin`; both are given the same origin and the same local-time
 * conversion, so they return the same buckets.
 *
 * Semantics:
 * - A bucket of whole days (or weeks) follows the local calendar of the timezone: the value is
 *   moved to local wall time, binned there, and the bucket start moved back. A day bucket across
 *   a DST switch lasts 23 or 25 hours.
 * - Any other bucket has a fixed length, aligned to local midnight of the origin day in the
 *   timezone, so hours on both sides of a DST switch stay distinct (no merged or missing hour).
 */
export type BucketDialect = 'timescale' | 'postgres';

/** Origin of every bucket grid: a Monday, so that week buckets start on Mondays. */
const ORIGIN = '2000-01-03 00:00:00';
const SECONDS = { second: 1, minute: 60, hour: 3600, day: 86_400, week: 604_800 } as const;
/** Longest bucket accepted. */
const MAX_INTERVAL_S = 366 * 86_400;

/** A parsed bucket width and timezone. */
export interface BucketSpec {
  /** Width in seconds. */
  readonly seconds: number;
  /** Whole days: binned on the local calendar. */
  readonly calendar: boolean;
  /** IANA name, or a UTC offset like +08:00. */
  readonly timezone: string;
}

/**
 * Parses an interval like "1 minute", "15 minutes", "1 hour", "1 day", "2 weeks", "30s" and a
 * timezone (default UTC). BAD_USER_INPUT for months, years, or anything else.
 */
export function parseBucketSpec(interval: string, timezone: string | null | undefined): BucketSpec {
  const m = /^\s*(\d{1,9})\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|h|days?|d|weeks?|w)\s*$/i.exec(interval);
  if (!m) {
    if (/mon|year|y\b/i.test(interval)) throw badInput('interval: months and years are not supported; use days or weeks', { interval });
    throw badInput('interval must look like "1 minute", "15 minutes", "1 hour", "1 day" or "1 week"', { interval });
  }
  const unit = m[2]!.toLowerCase();
  const per = unit.startsWith('w') ? SECONDS.week : unit.startsWith('d') ? SECONDS.day : unit.startsWith('h') ? SECONDS.hour : unit.startsWith('m') ? SECONDS.minute : SECONDS.second;
  const seconds = Number(m[1]) * per;
  if (seconds < 1 || seconds > MAX_INTERVAL_S) throw badInput('interval must be between 1 second and 366 days', { interval });
  const tz = timezone ?? 'UTC';
  if (!isValidTimezone(tz)) throw badInput('timezone must be an IANA name like Europe/Berlin or an offset like +08:00', { timezone: tz });
  return { seconds, calendar: seconds % SECONDS.day === 0, timezone: tz };
}

/** The zone as `AT TIME ZONE` takes it: offsets as an interval (ISO sign; a text '+08:00' would be POSIX, reversed). */
function zone(spec: BucketSpec): SQL {
  return /^[+-]\d\d:\d\d$/.test(spec.timezone) ? sql`${spec.timezone}::interval` : sql`${spec.timezone}::text`;
}

function width(spec: BucketSpec): SQL {
  return spec.calendar ? sql`${`${spec.seconds / SECONDS.day} days`}::interval` : sql`${`${spec.seconds} seconds`}::interval`;
}

function bin(dialect: BucketDialect, w: SQL, value: SQL, origin: SQL): SQL {
  switch (dialect) {
    case 'timescale':
      return sql`time_bucket(${w}, ${value}, ${origin})`;
    case 'postgres':
      return sql`date_bin(${w}, ${value}, ${origin})`;
    default: {
      const never: never = dialect;
      return never;
    }
  }
}

/** The bucket start (timestamptz) of a timestamptz expression. */
export function bucketOf(dialect: BucketDialect, spec: BucketSpec, column: SQL): SQL {
  const z = zone(spec);
  if (spec.calendar) return sql`(${bin(dialect, width(spec), sql`(${column} at time zone ${z})`, sql`${ORIGIN}::timestamp`)} at time zone ${z})`;
  return bin(dialect, width(spec), column, sql`(${ORIGIN}::timestamp at time zone ${z})`);
}

/**
 * Every bucket start in [from, to) as rows `{t}` of epoch milliseconds, for gap filling. Uses the
 * same binning as {@link bucketOf}, so the starts match the data's buckets exactly.
 */
export function bucketStartsSql(dialect: BucketDialect, spec: BucketSpec, fromIso: string, toIso: string): SQL {
  const z = zone(spec);
  const from = sql`${fromIso}::timestamptz`;
  const to = sql`${toIso}::timestamptz`;
  if (spec.calendar) {
    const first = bin(dialect, width(spec), sql`(${from} at time zone ${z})`, sql`${ORIGIN}::timestamp`);
    return sql`select floor(extract(epoch from (b at time zone ${z})) * 1000)::float8 as t
      from generate_series(${first}, (${to} at time zone ${z}), ${width(spec)}) as b
      where (b at time zone ${z}) < ${to} order by b`;
  }
  return sql`select floor(extract(epoch from b) * 1000)::float8 as t
    from generate_series(${bucketOf(dialect, spec, from)}, ${to}, ${width(spec)}) as b
    where b < ${to} order by b`;
}

/**
 * The start (epoch ms, row `{t}`) of the bucket that holds `fromIso`, with the binning of
 * {@link bucketOf}: with it, the starts of fixed-length buckets are counted in steps of the width
 * without asking the database for each.
 */
export function firstBucketStartSql(dialect: BucketDialect, spec: BucketSpec, fromIso: string): SQL {
  return sql`select floor(extract(epoch from ${bucketOf(dialect, spec, sql`${fromIso}::timestamptz`)}) * 1000)::float8 as t`;
}

/** Upper estimate of the number of buckets in [from, to), to check bounds before querying. */
export function estimateBuckets(spec: BucketSpec, fromMs: number, toMs: number): number {
  if (toMs <= fromMs) return 0;
  // A calendar day may last 23 hours: count with the shortest day.
  const ms = spec.calendar ? (spec.seconds / SECONDS.day) * 23 * 3_600_000 : spec.seconds * 1000;
  return Math.ceil((toMs - fromMs) / ms) + 1;
}
