import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { execute, getOperationAST, GraphQLError, parse, specifiedRules, validate, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Access } from '../auth/permissions';
import { verifyToken } from '../auth/tokens';
import { createContext, type GraphQLContext } from '../graphql/context';
import { authenticate, tokenFromConnectionParams } from './authenticate';
import type { AppDeps } from './deps';
import { formatGraphQLError, responseTooLarge } from './apollo';
import { ResponseTooLargeError, stringifyBounded } from './bounded-json';
import { DOCUMENT_TOO_DEEP_MESSAGE, documentTooDeep, findBadOperationInput } from './input-guard';
import { checkDocumentSize, createQueryLimitsRule, type QueryLimits } from './query-limits';
import { findAppError, toGraphQLError } from '../errors';

/** Close code of a connection refused because its organisation has WS_MAX_CONNECTIONS_PER_ORG open. */
export const WS_TOO_MANY_CONNECTIONS = 4429;

/** Parsed and validated documents kept for reuse (oldest evicted first). */
const DOCUMENT_CACHE_MAX = 500;

/** How often live connections re-check their token, so that revocation ends subscriptions. */
export const WS_REVALIDATE_MS = 5_000;

interface Live {
  readonly socket: WebSocket;
  readonly token: string;
  /** The grants at connect time; a change ends the connection so that scopes never go stale. */
  readonly grants: string;
}

/** Closes a socket, and drops it if the peer does not finish the close handshake in time (a stalled reader). */
function closeSocket(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), 5_000).unref();
}

/** A running graphql-ws endpoint. */
export interface WsEndpoint {
  readonly wss: WebSocketServer;
  /** Completes a WebSocket upgrade request for the endpoint's path (see server/upgrade.ts). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every socket (1001 Going Away) and stops the revalidation timer. */
  close(): Promise<void>;
}

/**
 * Serves graphql-ws; the HTTP server hands it the WebSocket upgrade requests of its path
 * through `handleUpgrade` (other upgrade offers are served as HTTP/1.1, see server/upgrade.ts). The token comes in `connection_init`
 * (accessToken, token or Authorization); a bad or missing one is refused at onConnect with
 * 4403 Forbidden, and a token revoked later (SA disabled, deleted or rotated, token expired) or
 * a change of the SA's grants closes the socket with 4403 too, within WS_REVALIDATE_MS. Errors
 * are shaped as over HTTP (AppError codes kept, everything else masked). A live subscriber that
 * falls too far behind is closed with 4008 (see src/live/service.ts).
 */
export function attachGraphQLWs(schema: GraphQLSchema, deps: AppDeps, limits: QueryLimits): WsEndpoint {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const live = new Set<Live>();
  const rules = [...specifiedRules, createQueryLimitsRule(limits)];
  const accessOf = new WeakMap<WebSocket, Access>();
  /** Open authenticated connections per organisation. */
  const connectionsOf = new Map<string, number>();
  // PERF: subscribers mostly send the same few documents; sharing the parsed and validated AST
  // saves its memory per live subscription and the validation per subscribe.
  const documents = new Map<string, DocumentNode>();
  const format = formatGraphQLError(deps.log);
  const formatErrors = (errors: readonly GraphQLError[]) => errors.map((e) => format(e.toJSON(), e));

  const disposable = useServer(
    {
      schema,
      // A query's place in the heavy-query lane is given back once its result is built, whether or not the client still waits for it.
      execute: async (args) => {
        try {
          return await execute(args);
        } finally {
          (args.contextValue as GraphQLContext).budget.release();
        }
      },
      connectionInitWaitTimeout: deps.config.WS_INIT_TIMEOUT_MS,
      onConnect: async (ctx) => {
        const token = tokenFromConnectionParams(ctx.connectionParams as Record<string, unknown> | undefined);
        const access = await authenticate(deps, token);
        if (!access.caller || !token) return false;
        const orgId = access.caller.orgId;
        const open = connectionsOf.get(orgId) ?? 0;
        if (open >= deps.config.WS_MAX_CONNECTIONS_PER_ORG) {
          // The first close code wins: the client sees 4429, not graphql-ws's 4403 for `false`.
          ctx.extra.socket.close(WS_TOO_MANY_CONNECTIONS, 'Too many connections');
          return false;
        }
        connectionsOf.set(orgId, open + 1);
        ctx.extra.socket.once('close', () => {
          const n = (connectionsOf.get(orgId) ?? 1) - 1;
          if (n > 0) connectionsOf.set(orgId, n);
          else connectionsOf.delete(orgId);
        });
        accessOf.set(ctx.extra.socket, access);
        const entry = { socket: ctx.extra.socket, token, grants: JSON.stringify(access.caller.grants) };
        live.add(entry);
        ctx.extra.socket.once('close', () => live.delete(entry));
        return true;
      },
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        let document = documents.get(payload.query);
        if (!document) {
          try {
            checkDocumentSize(payload.query, limits);
            if (documentTooDeep(payload.query)) return [new GraphQLError(DOCUMENT_TOO_DEEP_MESSAGE, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
            document = parse(payload.query, { maxTokens: limits.maxTokens });
          } catch (e) {
            const app = findAppError(e);
            return [e instanceof GraphQLError ? e : app ? toGraphQLError(app) : new GraphQLError('could not parse the query')];
          }
          const errors = validate(schema, document, rules);
          if (errors.length) return errors;
          if (documents.size >= DOCUMENT_CACHE_MAX) documents.delete(documents.keys().next().value!);
          documents.set(payload.query, document);
        }
        const access = accessOf.get(ctx.extra.socket);
        if (!access) return [new GraphQLError('not authenticated', { extensions: { code: 'UNAUTHENTICATED' } })];
        const bad = findBadOperationInput(document, payload.variables);
        if (bad) return [new GraphQLError(bad, { extensions: { code: 'BAD_USER_INPUT' } })];
        return {
          schema,
          document,
          variableValues: payload.variables ?? null,
          operationName: payload.operationName ?? null,
          contextValue: { ...createContext(deps, access, randomUUID()), connection: { close: (code: number, reason: string) => closeSocket(ctx.extra.socket, code, reason) } },
        };
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        const formatted = result.errors ? { data: result.data ?? null, errors: formatErrors(result.errors) } : undefined;
        // PERF: subscription events are single messages, passed on synchronously; only query and mutation results are measured.
        if (getOperationAST(args.document, args.operationName)?.operation === 'subscription') return formatted;
        // The byte cap of QUERY_MAX_RESPONSE_BYTES, as over HTTP; graphql-ws serialises the message itself.
        return stringifyBounded(formatted ?? result, limits.maxResponseBytes).then(
          () => formatted,
          (e: unknown) => {
            if (!(e instanceof ResponseTooLargeError)) throw e;
            deps.log.warn({ maxBytes: limits.maxResponseBytes }, 'response too large');
            return responseTooLarge(limits.maxResponseBytes);
          },
        );
      },
      onError: (_ctx, _id, _payload, errors) => {
        deps.log.debug({ errors: errors.map((e) => e.message) }, 'subscription error');
        return formatErrors(errors);
      },
    },
    wss,
  );

  // NOTE: one lookup per distinct token per period (connections sharing a token share it), and
  // at most one round in flight, so that 10,000 idle connections cost no query storm.
  let revalidating = false;
  async function revalidate(): Promise<void> {
    if (revalidating) return;
    revalidating = true;
    try {
      const byToken = new Map<string, Live[]>();
      for (const entry of live) byToken.set(entry.token, [...(byToken.get(entry.token) ?? []), entry]);
      for (const [token, entries] of byToken) {
        if (closing) return;
        const caller = await verifyToken(deps.db, token);
        for (const entry of entries) {
          if (!caller || JSON.stringify(caller.grants) !== entry.grants) {
            live.delete(entry);
            closeSocket(entry.socket, CloseCode.Forbidden, 'Forbidden');
          }
        }
      }
    } catch (err) {
      if (!closing) deps.log.warn({ err }, 'token revalidation failed');
    } finally {
      revalidating = false;
    }
  }
  let closing = false;
  const timer = setInterval(() => void revalidate(), WS_REVALIDATE_MS);
  timer.unref();

  return {
    wss,
    handleUpgrade(req, socket, head) {
      if (closing) return void socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    async close() {
      closing = true;
      clearInterval(timer);
      for (const c of wss.clients) c.close(1001, 'Going away');
      await disposable.dispose();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
