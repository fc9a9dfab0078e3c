import { sql, type SQL } from 'drizzle-orm';

/*
 * Any finite double is a valid stored value, and PostgreSQL raises an error when float8
 * arithmetic overflows: avg(float8) and stddev_samp(float8) keep a sum of squares (overflows from
 * about 1.3e154), sum(float8) and `+` a sum. An error part-way through a result also ends the
 * statement for everyone waiting on that connection, so sums of stored values are taken over the
 * values scaled by 2^-30: exact (a power of two; only values below about 2.4e-299 lose
 * precision), rounded exactly as the unscaled sum, and finite for up to 2^30 values of any size.
 * A result beyond the range of a double comes back as +-Infinity (NaN for Infinity - Infinity),
 * never as an error.
 */

/** 2^-30 as float8 (the decimal literal is exact). */
export const SCALE = sql`0.000000000931322574615478515625::float8`;

/** The largest finite double. */
export const DOUBLE_MAX = sql`1.7976931348623157e308`;

/** A float8 expression `x`, scaled by 2^-30, back to scale; +-Infinity beyond a double. */
export function unscale(x: SQL): SQL {
  return sql`(case when abs(${x}) <= ${DOUBLE_MAX}::float8 * ${SCALE} then ${x} / ${SCALE} else sign(${x}) * 'Infinity'::float8 end)`;
}

/** A numeric expression as float8; +-Infinity beyond a double. */
export function numericToDouble(x: SQL): SQL {
  return sql`(case when abs(${x}) <= ${DOUBLE_MAX}::numeric then ${x}::float8 else sign(${x})::float8 * 'Infinity'::float8 end)`;
}

/** True when the float8 expression `x` is not a finite double (+-Infinity or NaN). */
export function notFinite(x: SQL): SQL {
  return sql`not (${x} between -${DOUBLE_MAX}::float8 and ${DOUBLE_MAX}::float8)`;
}
