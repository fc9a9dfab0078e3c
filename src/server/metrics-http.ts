import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type OperationDefinitionNode } from 'graphql';
import type { GraphQLContext } from '../graphql/context';
import type { Metrics } from '../metrics/metrics';
import { sendJson } from './http-util';

/**
 * The root field an operation selects, as the `operation` label: a schema field name (bounded by
 * the schema), never the client's operation name (any string). Several root fields are
 * `(multiple)`; an operation that failed to parse or validate is `(invalid)`.
 */
export function operationLabel(op: OperationDefinitionNode | undefined): string {
  if (!op) return '(invalid)';
  const fields = op.selectionSet.selections.filter((s) => s.kind === Kind.FIELD);
  if (fields.length !== op.selectionSet.selections.length || fields.length !== 1) return '(multiple)';
  return fields[0]!.name.value;
}

/** Records one GraphQL operation that started at `started` (performance.now()) in the operations metric. */
export function observeOperation(context: GraphQLContext, op: OperationDefinitionNode | undefined, started: number, failed: boolean): void {
  context.deps.metrics.graphqlDuration.observe(
    { transport: context.transport, type: op?.operation ?? 'unknown', operation: operationLabel(op), outcome: failed ? 'error' : 'ok' },
    (performance.now() - started) / 1000,
  );
}

/** Times every GraphQL operation Apollo runs (HTTP and the REST shim's in-process calls); direct-ingest.ts times those it runs. */
export function createGraphQLMetricsPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      let op: OperationDefinitionNode | undefined;
      return {
        async didResolveOperation({ operation }) {
          op = operation;
        },
        async willSendResponse({ response }) {
          observeOperation(contextValue, op, started, response.body.kind === 'single' && !!response.body.singleResult.errors?.length);
        },
      };
    },
  };
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/** The `method` label: the request's method, or OTHER (bounded). */
export function methodLabel(method: string | undefined): string {
  const m = (method ?? 'GET').toUpperCase();
  return METHODS.has(m) ? m : 'OTHER';
}

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * GET /metrics: the Prometheus text format. With METRICS_TOKEN set, the request needs
 * `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).
 */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: Metrics, token: string | undefined): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
  if (token) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m || !tokenMatches(m[1]!, token)) return sendJson(res, 401, { error: 'a valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)' }, { 'www-authenticate': 'Bearer realm="metrics"' });
  }
  const body = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
