import { getOperationAST, parse, type OperationTypeNode } from 'graphql';
import { LRUCache } from 'lru-cache';

/** Documents whose operation kind is remembered, their total length, and the longest one considered. */
const KINDS_MAX = 2_000;
const KINDS_MAX_CHARS = 4_000_000;
const DOCUMENT_MAX_CHARS = 20_000;

// NOTE: bounded by total document length too, so that many long distinct documents cannot hold more than a few MB.
const kinds = new LRUCache<string, OperationTypeNode | 'unknown'>({ max: KINDS_MAX, maxSize: KINDS_MAX_CHARS, sizeCalculation: (_kind, key) => Math.max(1, key.length) });

/**
 * The kind of operation an HTTP GraphQL request runs ('query', 'mutation', 'subscription'), or
 * 'unknown' (no document, a batch, a persisted-query hash, a document that does not parse or
 * does not name one operation, a very long document). Each document is parsed once per instance.
 */
export function operationKind(method: string, body: unknown, search: string): OperationTypeNode | 'unknown' {
  let query: unknown;
  let operationName: unknown;
  if (method === 'GET') {
    const params = new URLSearchParams(search);
    query = params.get('query');
    operationName = params.get('operationName');
  } else if (body && typeof body === 'object' && !Array.isArray(body)) {
    ({ query, operationName } = body as { query?: unknown; operationName?: unknown });
  }
  if (typeof query !== 'string' || query.length > DOCUMENT_MAX_CHARS) return 'unknown';
  const name = typeof operationName === 'string' && operationName ? operationName : null;
  const key = name === null ? query : `${name}\u0000${query}`;
  let kind = kinds.get(key);
  if (kind === undefined) {
    try {
      kind = getOperationAST(parse(query, { noLocation: true }), name)?.operation ?? 'unknown';
    } catch {
      kind = 'unknown';
    }
    kinds.set(key, kind);
  }
  return kind;
}
