import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type HTTPGraphQLResponse } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { processRequest } from 'graphql-upload-minimal';
import { Access } from '../auth/permissions';
import { Speculation } from '../auth/speculation';
import { AppError, databaseUnavailable, ErrorCode, findAppError, isDatabaseUnavailable } from '../errors';
import { createContext, type GraphQLContext } from '../graphql/context';
import { authenticate, tokenConfirmation, tokenFromHeaders } from './authenticate';
import type { DirectIngest } from './direct-ingest';
import { parseJsonBody, readBody, RETRY_AFTER_S, sendJson } from './http-util';
import { DOCUMENT_TOO_DEEP_MESSAGE, documentTooDeep } from './input-guard';
import { classifyOperation, UNKNOWN_OPERATION } from './operation-kind';
import { checkDocumentSize, type QueryLimits } from './query-limits';
import type { RouteContext } from './routes';

function unauthenticatedError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
}

/**
 * A context that failed because the database is unreachable becomes 503 with Retry-After (Apollo
 * answers any other context failure with 500, before its plugins run).
 */
function unavailableContext(e: unknown): never {
  if (!isDatabaseUnavailable(e)) throw e;
  const headers = new HeaderMap([['retry-after', String(RETRY_AFTER_S)]]);
  throw new GraphQLError(databaseUnavailable().message, { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, http: { status: 503, headers } } });
}

/** Whether Apollo would answer a request with `accept` in application/json (what the direct path answers in). */
function answersInJson(accept: string | undefined): boolean {
  return !accept || accept === '*/*' || /^application\/json\s*(;|$)/i.test(accept);
}

/**
 * Serves GraphQL over HTTP (GET and POST, JSON and multipart uploads) through Apollo's
 * framework-neutral entry point, ingest mutations in JSON through the direct path
 * (direct-ingest.ts). Every request needs a valid token (HTTP 401 otherwise).
 */
export async function handleGraphQLHttp({ apollo, direct }: { apollo: ApolloServer<GraphQLContext>; direct: DirectIngest }, req: IncomingMessage, res: ServerResponse, rc: RouteContext, limits: QueryLimits): Promise<void> {
  const { deps } = rc;
  const contentType = String(req.headers['content-type'] ?? '');
  const multipart = contentType.startsWith('multipart/form-data');
  const token = tokenFromHeaders(req.headers);
  // PERF: the token lookup (one query, every request: revocation is immediate) starts now and
  // overlaps reading the body and Apollo's parse/validate; the context awaits it and its failure
  // surfaces there. A token this instance knows waits for the body: a read-only query then
  // speculates on it instead (below).
  const cached = token && !multipart ? deps.speculation.callers.get(token) : undefined;
  let accessPromise: Promise<Access> | null = null;
  const checkToken = (): Promise<Access> | null => {
    if (token && !accessPromise) {
      accessPromise = authenticate(deps, token);
      accessPromise.catch(() => {});
    }
    return accessPromise;
  };
  if (!cached) checkToken();
  let body: unknown;
  try {
    if (req.method === 'POST' && multipart) {
      // CSRF: refuse a "simple" multipart request before reading any of it (Apollo would too).
      if (!req.headers['apollo-require-preflight'] && !req.headers['x-apollo-operation-name']) {
        return sendJson(res, 400, { errors: [{ message: 'multipart requests need an Apollo-Require-Preflight or X-Apollo-Operation-Name header (CSRF protection)', extensions: { code: 'BAD_REQUEST' } }] });
      }
      if (!token) throw new AppError(ErrorCode.UNAUTHENTICATED, 'a valid access token is required');
      // NOTE: busboy counts a file of exactly maxFileSize bytes as truncated; ingest enforces UPLOAD_MAX_BYTES itself.
      body = await processRequest(req, res, { maxFileSize: deps.config.UPLOAD_MAX_BYTES + 1, maxFiles: deps.config.UPLOAD_MAX_FILES, maxFieldSize: deps.config.REQUEST_BODY_MAX_BYTES });
    } else if (req.method === 'POST') {
      // GraphQL over HTTP: a POST body is JSON, and says so; a text/plain body (what a browser
      // form or a bare fetch sends) is refused before it is read.
      if (contentType.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
        req.resume();
        return sendJson(res, 415, { errors: [{ message: 'a POST body must be application/json (or multipart/form-data for uploads)', extensions: { code: 'BAD_REQUEST' } }] });
      }
      body = parseJsonBody(await readBody(req, deps.config.REQUEST_BODY_MAX_BYTES));
    }
  } catch (e) {
    const app = findAppError(e);
    const status = app?.status ?? ((e as { status?: number }).status === 413 ? 413 : 400);
    const code = app?.code ?? (status === 413 ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.BAD_USER_INPUT);
    return sendJson(res, status, { errors: [{ message: app?.message ?? (e as Error).message, extensions: { code } }] });
  }
  const query = req.method === 'POST' ? (body as { query?: unknown } | undefined)?.query : rc.url.searchParams.get('query');
  try {
    checkDocumentSize(query, limits);
  } catch (e) {
    const app = findAppError(e)!;
    return sendJson(res, app.status, { errors: [{ message: app.message, extensions: { code: app.code } }] });
  }
  if (typeof query === 'string' && documentTooDeep(query)) {
    return sendJson(res, 400, { errors: [{ message: DOCUMENT_TOO_DEEP_MESSAGE, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });
  }
  const method = (req.method ?? 'GET').toUpperCase();
  // The operations' places in the heavy-query lane are held until their response is written (below).
  const contexts: GraphQLContext[] = [];
  const contextFor = (access: Access): GraphQLContext => {
    const ctx = createContext(deps, access, rc.requestId);
    contexts.push(ctx);
    return ctx;
  };
  const viaApollo = (context: () => Promise<GraphQLContext>) => {
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    // processRequest already consumed the multipart body; Apollo sees a JSON operation.
    if (multipart) headers.set('content-type', 'application/json');
    return apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest: { method, headers, search: rc.url.search, body }, context: () => context().catch(unavailableContext) });
  };
  const op = method === 'POST' && !multipart && answersInJson(req.headers.accept) ? direct.prepare(body) : null;
  const execute = async (context: () => Promise<GraphQLContext>): Promise<HTTPGraphQLResponse> => {
    if (!op) return viaApollo(context);
    let ctx: GraphQLContext;
    try {
      ctx = await context();
    } catch {
      // Apollo answers a context that fails (401, 503).
      return viaApollo(context);
    }
    const out = await direct.run(op, ctx);
    if (!out) return viaApollo(async () => ctx);
    if (!out.headers.get('content-type')) out.headers.set('content-type', 'application/json; charset=utf-8');
    return { ...(out.status ? { status: out.status } : {}), headers: out.headers, body: { kind: 'complete', string: await direct.serialise(out.result) } };
  };
  const confirmedContext = async (): Promise<GraphQLContext> => {
    const pending = checkToken();
    if (!pending) throw unauthenticatedError('a valid access token is required (Authorization: Bearer <token> or apim-accesstoken)');
    const access = await pending;
    if (!access.caller) throw unauthenticatedError('the access token is invalid, expired or revoked');
    return contextFor(access);
  };
  // PERF: a read-only query whose token this instance has seen runs at once as the caller last
  // confirmed, while the database confirms the token, with every other remembered fact the query
  // used, in one statement; the response waits for the verdict, and the query runs again on fresh
  // facts if any changed (auth/speculation.ts).
  // PERF: an ingest mutation whose token this instance has seen runs at once too; the token is
  // confirmed inside its write transaction, before it commits (deferred), and the
  // mutation runs again on the confirmed caller if it changed (ingest/ingest-service.ts).
  const { kind, ingestOnly } = token && cached ? classifyOperation(method, body, rc.url.search) : UNKNOWN_OPERATION;
  const deferred = kind === 'mutation' && ingestOnly;
  const confirmation = token && cached && (kind === 'query' || deferred) ? tokenConfirmation(deps, token, cached) : null;
  try {
    let result: Awaited<ReturnType<typeof execute>>;
    if (cached && confirmation) {
      const speculation = new Speculation(deps.db, deps.speculation.facts, deferred);
      speculation.confirm(confirmation);
      result = await execute(async () => contextFor(new Access(cached, speculation)));
      if (!(await speculation.holds())) {
        // The run on stale facts gives its place in the heavy-query lane to the run that counts.
        for (const ctx of contexts) ctx.budget.release();
        result = await execute(confirmedContext);
      }
    } else {
      result = await execute(confirmedContext);
    }
    if (multipart) drainUnreadUploads(body);
    res.statusCode = statusFor(result.status ?? 200, result.headers.get('content-type'), result.body);
    for (const [k, v] of result.headers) res.setHeader(k, v);
    if (result.body.kind === 'complete') {
      res.setHeader('content-length', Buffer.byteLength(result.body.string));
      res.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  } finally {
    for (const ctx of contexts) ctx.budget.release();
  }
}

/** Errors of a well-formed request that GraphQL raised before execution: parse, validation, variables. */
const REQUEST_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'OPERATION_RESOLUTION_FAILURE', ErrorCode.QUERY_TOO_COMPLEX]);

/**
 * The status of a response, as the GraphQL-over-HTTP spec asks per media type. Apollo answers a
 * document that does not parse, validate or coerce its variables with 400 whatever the client
 * accepts; with `application/json` the spec wants 200 (older clients read the body only then),
 * with `application/graphql-response+json` 400, as Apollo does.
 */
function statusFor(status: number, contentType: string | undefined, body: { kind: string; string?: string }): number {
  if (status !== 400 || !contentType?.startsWith('application/json') || body.kind !== 'complete' || body.string === undefined) return status;
  try {
    const parsed = JSON.parse(body.string) as { data?: unknown; errors?: { extensions?: { code?: unknown } }[] };
    const codes = (parsed.errors ?? []).map((e) => e.extensions?.code);
    return parsed.data === undefined && codes.length > 0 && codes.every((c) => typeof c === 'string' && REQUEST_ERROR_CODES.has(c)) ? 200 : status;
  } catch {
    return status;
  }
}

/**
 * Reads and discards every upload of a multipart request that the operation left unread (an
 * operation refused before its resolver ran, say): busboy stops at an unread part, and the
 * connection would stall. Parts already read refuse a second read; that is ignored.
 */
function drainUnreadUploads(body: unknown): void {
  const seen = new Set<unknown>();
  const visit = (v: unknown, depth: number): void => {
    if (depth > 20 || typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    const promise = (v as { promise?: unknown }).promise;
    if (promise instanceof Promise) {
      promise.then(
        (f: { createReadStream(): NodeJS.ReadableStream }) => {
          try {
            f.createReadStream().resume();
          } catch {
            // NOTE: already read by the resolver.
          }
        },
        () => {},
      );
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) visit(x, depth + 1);
  };
  visit(body, 0);
}
