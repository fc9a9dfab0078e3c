import { badInput } from '../errors';

/** Relay page arguments as received. */
export interface PageArgs {
  readonly first?: number | null | undefined;
  readonly after?: string | null | undefined;
}

/** A Relay connection. */
export interface Connection<T> {
  readonly edges: readonly { readonly node: T; readonly cursor: string }[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly hasPreviousPage: boolean; readonly startCursor: string | null; readonly endCursor: string | null };
  readonly totalCount: number;
}

/** Opaque cursor over a numeric id: base64url of `<kind>:<id>`. */
export function encodeIdCursor(kind: string, id: number): string {
  return Buffer.from(`${kind}:${id}`).toString('base64url');
}

/** Decodes a cursor made by {@link encodeIdCursor}; BAD_USER_INPUT when it is not one. */
export function decodeIdCursor(kind: string, cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^([a-z]+):(\d{1,15})$/.exec(text);
  if (!m || m[1] !== kind) throw badInput('invalid cursor');
  return Number(m[2]);
}

/** Checks `first` against the page bound; default 50. */
export function pageSize(args: PageArgs, max: number, def = 50): number {
  const first = args.first ?? Math.min(def, max);
  if (!Number.isInteger(first) || first < 0) throw badInput('first must be a non-negative integer');
  if (first > max) throw badInput(`first must be at most ${max}`, { max });
  return first;
}

/** Builds a connection from `limit + 1` fetched rows. */
export function toConnection<T>(rows: readonly T[], limit: number, cursorOf: (row: T) => string, totalCount: number, hasPrevious: boolean): Connection<T> {
  const page = rows.slice(0, limit);
  const edges = page.map((node) => ({ node, cursor: cursorOf(node) }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > limit, hasPreviousPage: hasPrevious, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount,
  };
}
