import { badInput } from '../errors';

/**
 * Opaque keyset cursors: base64url of `<kind>:<n1>,<n2>,...`. A cursor names the last row of a
 * page by its sort key (e.g. time, device, point), never by an offset, so a page that follows
 * stays correct while new rows arrive.
 */
export function encodeKeyCursor(kind: string, key: readonly number[]): string {
  return Buffer.from(`${kind}:${key.join(',')}`).toString('base64url');
}

/** Decodes a cursor of `kind` with `arity` integers; BAD_USER_INPUT for anything else. */
export function decodeKeyCursor(kind: string, arity: number, cursor: string): number[] {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^([a-z-]+):(-?\d{1,17}(?:,-?\d{1,17})*)$/.exec(text);
  const key = m?.[2]?.split(',').map(Number) ?? [];
  if (!m || m[1] !== kind || key.length !== arity || !key.every(Number.isSafeInteger)) throw badInput('invalid cursor');
  return key;
}

/** A Relay connection without a total (counting a time range would cost as much as reading it). */
export interface Page<T> {
  readonly edges: readonly { readonly node: T; readonly cursor: string }[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly hasPreviousPage: boolean; readonly startCursor: string | null; readonly endCursor: string | null };
}

/** An edge whose cursor is encoded only when read (most clients read just `pageInfo.endCursor`). */
class LazyEdge<R, T> {
  constructor(
    readonly node: T,
    private readonly row: R,
    private readonly cursorOf: (row: R) => string,
  ) {}

  get cursor(): string {
    return this.cursorOf(this.row);
  }
}

/** Builds a page from `limit + 1` fetched rows. */
export function toPage<R, T>(rows: readonly R[], limit: number, map: (row: R) => T, cursorOf: (row: R) => string, hasPrevious: boolean): Page<T> {
  const n = Math.min(rows.length, limit);
  const edges: LazyEdge<R, T>[] = new Array(n);
  // PERF: a plain loop and cursors encoded on demand; a page may hold thousands of rows.
  for (let i = 0; i < n; i++) {
    const row = rows[i] as R;
    edges[i] = new LazyEdge(map(row), row, cursorOf);
  }
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > limit, hasPreviousPage: hasPrevious, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/** Checks `first` against the page bound; default `def` (capped at `max`). */
export function checkFirst(first: number | null | undefined, max: number, def: number): number {
  const n = first ?? Math.min(def, max);
  if (!Number.isInteger(n) || n < 0) throw badInput('first must be a non-negative integer');
  if (n > max) throw badInput(`first must be at most ${max} (QUERY_PAGE_MAX_ROWS)`, { max });
  return n;
}
