import { HeaderMap } from '@apollo/server';
import { execute, getOperationAST, GraphQLError, parse, specifiedRules, validate, type DocumentNode, type FormattedExecutionResult, type GraphQLFormattedError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { GraphQLContext } from '../graphql/context';
import { findBadOperationInput } from './input-guard';
import { observeOperation } from './metrics-http';
import { isIngestOperation } from './operation-kind';
import { createQueryLimitsRule, type QueryLimits } from './query-limits';
import { retryableHead } from './retryable-status';

/*
 * Ingest mutations, run without Apollo's request pipeline.
 *
 * PERF: a device's request is small and its document one of a few. Apollo's pipeline around
 * graphql-js (the query hash, content negotiation, every plugin hook at every stage, the context
 * clone) cost a quarter of a single-point request's CPU. So an operation whose root fields are all
 * ingest mutations, whose document parsed and validated before (with Apollo's rules and ours), and
 * whose input passes the guard and coerces, is executed here by graphql-js, and its result is
 * shaped as Apollo shapes one: every error through `formatError` with its code (INTERNAL_SERVER_ERROR
 * by default), the HTTP status and headers an error carries, 429 or 503 with Retry-After for
 * RATE_LIMITED and SERVICE_UNAVAILABLE, the operation timed in the same metric.
 * Apollo still answers everything else, and every request error, which it then reports as it
 * always does: a document that does not parse or validate, input the guard refuses, variables
 * that do not coerce (nothing has run when graphql-js finds that), a context that fails.
 */

/** An ingest operation this path can run. */
export interface DirectOperation {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | undefined;
  readonly variables: Record<string, unknown> | undefined;
}

/** What the operation answered: the result as Apollo would send it, and the HTTP status and headers its errors ask for. */
export interface DirectResult {
  readonly result: FormattedExecutionResult;
  readonly status: number | undefined;
  readonly headers: HeaderMap;
}

export interface DirectIngest {
  /** Serialises a result as Apollo's `stringifyResult` does. */
  serialise(result: FormattedExecutionResult): Promise<string>;
  /** The operation of a GraphQL request (`{ query, operationName, variables }`) when this path runs it, else null. */
  prepare(request: unknown): DirectOperation | null;
  /** Runs it on `context`; null when Apollo must answer instead (input refused, variables that do not coerce: nothing ran). */
  run(op: DirectOperation, context: GraphQLContext): Promise<DirectResult | null>;
}

type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/** Parsed documents ('apollo': one this path leaves to Apollo), bounded by count and total length. */
const DOCUMENTS_MAX = 200;
const DOCUMENTS_MAX_CHARS = 1_000_000;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An error extension `http` Apollo reads: `{ status?: number, headers?: Map }`. */
function isHttpHead(x: unknown): x is { status?: number; headers?: Map<string, string> } {
  return isRecord(x) && (!('status' in x) || typeof x['status'] === 'number') && (!('headers' in x) || x['headers'] instanceof Map);
}

/** What the direct path shares with Apollo: the schema, the limits, and how errors and results are shaped. */
export interface DirectIngestOptions {
  readonly schema: GraphQLSchema;
  readonly limits: QueryLimits;
  readonly formatError: FormatError;
  readonly serialise: (result: FormattedExecutionResult) => Promise<string>;
}

export function createDirectIngest({ schema, limits, formatError, serialise }: DirectIngestOptions): DirectIngest {
  const rules = [...specifiedRules, createQueryLimitsRule(limits)];
  const documents = new LRUCache<string, { document: DocumentNode; operation: OperationDefinitionNode } | 'apollo'>({
    max: DOCUMENTS_MAX,
    maxSize: DOCUMENTS_MAX_CHARS,
    sizeCalculation: (_v, key) => Math.max(1, key.length),
  });

  /** The parsed and validated ingest operation of a document, or null when it is not one (remembered either way). */
  function parsed(request: Record<string, unknown>, query: string, operationName: string | undefined) {
    const key = operationName === undefined ? query : `${operationName}\u0000${query}`;
    let entry = documents.get(key);
    if (entry === undefined) {
      entry = 'apollo';
      try {
        if (isIngestOperation('POST', request, '')) {
          const document = parse(query, { maxTokens: limits.maxTokens });
          const operation = getOperationAST(document, operationName);
          if (operation && validate(schema, document, rules).length === 0) entry = { document, operation };
        }
      } catch {
        // Apollo reports the syntax error.
      }
      documents.set(key, entry);
    }
    return entry === 'apollo' ? null : entry;
  }

  /** Apollo's error shaping: code by default, the `http` extension taken out into the response's head, then formatError. */
  function formatErrors(errors: readonly GraphQLError[], head: { status: number | undefined; headers: HeaderMap }): GraphQLFormattedError[] {
    return errors.map((error) => {
      try {
        const extensions: Record<string, unknown> = { ...error.extensions, code: error.extensions['code'] ?? 'INTERNAL_SERVER_ERROR' };
        const http = extensions['http'];
        if (isHttpHead(http)) {
          if (http.status) head.status = http.status;
          for (const [name, value] of http.headers ?? []) head.headers.set(name, value);
          delete extensions['http'];
        }
        return formatError({ ...error.toJSON(), extensions }, error);
      } catch {
        return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      }
    });
  }

  return {
    serialise,
    prepare(request) {
      if (!isRecord(request)) return null;
      const { query, operationName, variables } = request;
      // NOTE: extensions (a persisted query, say) and malformed fields are Apollo's to handle.
      if (typeof query !== 'string' || (request['extensions'] !== undefined && request['extensions'] !== null)) return null;
      if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return null;
      if (variables !== undefined && variables !== null && !isRecord(variables)) return null;
      const name = operationName ?? undefined;
      const doc = parsed(request, query, name);
      return doc ? { ...doc, operationName: name, variables: variables ?? undefined } : null;
    },

    async run(op, context) {
      if (findBadOperationInput(op.document, op.variables)) return null;
      const started = performance.now();
      const executed = await execute({ schema, document: op.document, contextValue: context, variableValues: op.variables, operationName: op.operationName });
      // NOTE: no data means the variables did not coerce, and nothing ran.
      if (executed.data === undefined) return null;
      const head = { status: undefined as number | undefined, headers: new HeaderMap() };
      const errors = executed.errors?.length ? formatErrors(executed.errors, head) : undefined;
      const retry = retryableHead(errors);
      if (retry) {
        head.status = retry.status;
        head.headers.set('retry-after', retry.retryAfter);
      }
      observeOperation(context, op.operation, started, !!errors);
      // NOTE: in Apollo's order (errors, data, extensions), so that the text is the same.
      const result: FormattedExecutionResult = { ...(errors ? { errors } : {}), data: executed.data, ...(executed.extensions ? { extensions: executed.extensions } : {}) };
      return { result, status: head.status, headers: head.headers };
    },
  };
}
