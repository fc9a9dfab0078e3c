/*
 * PostgreSQL array literals (`{1,2.5,NULL}`), sent as ONE text parameter and cast server side
 * (`$1::float8[]`). PERF: the hot bulk statements (ingest, rollups, normalized values) send whole
 * columns this way: one `join` per column instead of the driver's per-element array serialiser,
 * which was a visible share of the service's CPU per point.
 */

/**
 * An array literal of numbers. JS number text is the shortest exact representation, so float8
 * values round-trip exactly; integers (ids, epoch milliseconds) are written as integers.
 */
export function numArray(values: readonly (number | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}

/** An array literal of texts, every element quoted (backslash and quote escaped). */
export function textArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(/[\\"]/g, '\\$&')}"`)).join(',')}}`;
}
