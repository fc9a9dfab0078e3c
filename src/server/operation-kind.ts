import { getOperationAST, Kind, parse, type OperationDefinitionNode, type OperationTypeNode } from 'graphql';
import { LRUCache } from 'lru-cache';

/** Documents whose operation kind is remembered, their total length, and the longest one considered. */
const KINDS_MAX = 2_000;
const KINDS_MAX_CHARS = 4_000_000;
const DOCUMENT_MAX_CHARS = 20_000;

// NOTE: bounded by total document length too, so that many long distinct documents cannot hold more than a few MB.
const kinds = new LRUCache<string, { kind: OperationTypeNode | 'unknown'; ingestOnly: boolean }>({ max: KINDS_MAX, maxSize: KINDS_MAX_CHARS, sizeCalculation: (_kind, key) => Math.max(1, key.length) });

/** The mutations that confirm a remembered caller inside their write transaction (ingest/ingest-service.ts). */
const INGEST_MUTATIONS = new Set(['postMeasurePoints', 'postAttributes', 'postEvents']);

/** Whether an operation is a mutation whose root fields are all ingest mutations, without fragments at the root. */
function isIngestOnly(op: OperationDefinitionNode | null | undefined): boolean {
  return op?.operation === 'mutation' && op.selectionSet.selections.length > 0 && op.selectionSet.selections.every((s) => s.kind === Kind.FIELD && INGEST_MUTATIONS.has(s.name.value));
}

/**
 * The kind of operation an HTTP GraphQL request runs ('query', 'mutation', 'subscription'), or
 * 'unknown' (no document, a batch, a persisted-query hash, a document that does not parse or
 * does not name one operation, a very long document). Each document is parsed once per instance.
 */
export function operationKind(method: string, body: unknown, search: string): OperationTypeNode | 'unknown' {
  return classifyOperation(method, body, search).kind;
}

/**
 * Whether an HTTP GraphQL request runs only ingest mutations (postMeasurePoints, postAttributes,
 * postEvents), which may start from a remembered caller (auth/speculation.ts, deferred).
 */
export function isIngestOperation(method: string, body: unknown, search: string): boolean {
  return classifyOperation(method, body, search).ingestOnly;
}

/** The classification of a request whose operation is not known. */
export const UNKNOWN_OPERATION = { kind: 'unknown', ingestOnly: false } as const;

/** {@link operationKind} and {@link isIngestOperation} of a request at once. */
export function classifyOperation(method: string, body: unknown, search: string): { readonly kind: OperationTypeNode | 'unknown'; readonly ingestOnly: boolean } {
  let query: unknown;
  let operationName: unknown;
  if (method === 'GET') {
    const params = new URLSearchParams(search);
    query = params.get('query');
    operationName = params.get('operationName');
  } else if (body && typeof body === 'object' && !Array.isArray(body)) {
    ({ query, operationName } = body as { query?: unknown; operationName?: unknown });
  }
  if (typeof query !== 'string' || query.length > DOCUMENT_MAX_CHARS) return UNKNOWN_OPERATION;
  const name = typeof operationName === 'string' && operationName ? operationName : null;
  const key = name === null ? query : `${name}\u0000${query}`;
  let kind = kinds.get(key);
  if (kind === undefined) {
    try {
      const op = getOperationAST(parse(query, { noLocation: true }), name);
      kind = { kind: op?.operation ?? 'unknown', ingestOnly: isIngestOnly(op) };
    } catch {
      kind = UNKNOWN_OPERATION;
    }
    kinds.set(key, kind);
  }
  return kind;
}
