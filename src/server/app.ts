import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApolloServer } from '@apollo/server';
import { verifyMasterKey } from '../auth/master-key-check';
import { createFailureLimiter } from '../auth/rate-limit';
import { createSecretBox } from '../auth/secret-box';
import { createSpeculationCaches } from '../auth/speculation';
import type { Config } from '../config';
import { databaseUnavailable, ErrorCode, toSafeError } from '../errors';
import { buildSchema } from '../graphql/schema';
import { createFileStore } from '../files/file-store';
import { startFileJanitor } from '../files/file-janitor';
import { createFileLinkSigner } from '../files/file-url';
import { createContext, type GraphQLContext } from '../graphql/context';
import { getIngestQueueStats } from '../ingest/ingest-service';
import { createModelCache } from '../ingest/model-cache';
import { createIngestPipeline } from '../ingest/pipeline';
import { registerLiveHooks } from '../live/service';
import { createLogger, type Logger } from '../log';
import { createMetrics, registerSourceGauges } from '../metrics/metrics';
import { registerPolicyHooks } from '../policies/hooks';
import { countPendingRows } from '../policies/rollup-journal';
import { openDatabase, type Database } from '../storage/db';
import { countAppliedMigrations, countMigrationFiles, runMigrations } from '../storage/migrate';
import { createApollo, createResultSerialiser, formatGraphQLError } from './apollo';
import { createDirectIngest } from './direct-ingest';
import { bootstrapIfEmpty } from './bootstrap';
import type { AppDeps } from './deps';
import { handleGraphQLHttp } from './graphql-http';
import { attachGraphQLWs, type WsEndpoint } from './graphql-ws';
import { createAdmissionController, registerAdmissionController, type AdmissionController, type Permit } from './admission';
import { tokenFromHeaders } from './authenticate';
import { limitConnections, type ConnectionStats } from './connection-limits';
import { createDatabaseGate, pingWithin } from './database-gate';
import { clientAddress, sendJson } from './http-util';
import { LANDING_ASSETS_PREFIX, serveLandingAsset, serveLandingPage, wantsLandingPage } from './landing-page';
import { methodLabel, serveMetrics } from './metrics-http';
import { routeTable } from './route-table';
import { routeUpgrades } from './upgrade';
import { matchRoute, pathExists, type RouteContext } from './routes';
import { describeMasterKeySource, resolveMasterKey } from './secret-key';

/** Longest time /readyz waits for the database before it answers 503. */
const READY_TIMEOUT_MS = 800;

/** Body bytes a multipart request counts for admission: its JSON parts; files are spooled to disk, not held. */
const MULTIPART_ADMISSION_BYTES = 1024 * 1024;
/** Body bytes a request without Content-Length (chunked) counts for admission until it is read. */
const CHUNKED_ADMISSION_BYTES = 256 * 1024;

/** Largest unread body a refused request reads and discards to keep its connection. */
const REFUSED_BODY_DRAIN_BYTES = 64 * 1024;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Weight of a request for admission: the body bytes it will hold in memory while processed. */
function admissionBytes(req: IncomingMessage): number {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const multipart = String(req.headers['content-type'] ?? '').startsWith('multipart/');
  if (!Number.isFinite(declared)) return req.method === 'GET' || req.method === 'HEAD' ? 0 : multipart ? MULTIPART_ADMISSION_BYTES : CHUNKED_ADMISSION_BYTES;
  return multipart ? Math.min(declared, MULTIPART_ADMISSION_BYTES) : declared;
}

/** A 429 or 503 refusal in the shape of the route: a GraphQL error, or the REST envelope (Retry-After added by sendJson). */
function refuse(req: IncomingMessage, res: ServerResponse, graphql: boolean, requestId: string, status: 429 | 503, code: ErrorCode, message: string): void {
  // A small unread body is discarded so that the connection stays usable; a large one is not read at all.
  if (admissionBytes(req) <= REFUSED_BODY_DRAIN_BYTES) req.resume();
  else res.setHeader('connection', 'close');
  if (graphql) return sendJson(res, status, { errors: [{ message, extensions: { code } }] });
  return sendJson(res, status, { code: status === 429 ? 99429 : 99503, msg: message, requestId, data: null });
}

/** Paths served outside the route table (each is its own `route` label in the metrics). */
const FIXED_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/graphql']);

/** A running instance. */
export interface App {
  readonly deps: AppDeps;
  readonly server: Server;
  readonly apollo: ApolloServer<GraphQLContext>;
  /** Admission control of this instance (counters for metrics: `admission.stats()`). */
  readonly admission: AdmissionController;
  /** Open and refused connections of this instance. */
  readonly connectionStats: () => ConnectionStats;
  /** Base URL once listening, e.g. http://127.0.0.1:4000. */
  url: string;
  /** Binds PORT/HOST (PORT=0 picks a free port). */
  listen(): Promise<string>;
  /** Stops accepting, drains in-flight requests within the deadline, closes the database. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Options for {@link createApp}, mostly for tests. */
export interface CreateAppOptions {
  readonly log?: Logger;
  /** An already-open database (tests share one per file). */
  readonly database?: Database;
  /** Create the default organisation and admin SA on an empty embedded database. Default: true for PGlite. */
  readonly bootstrap?: boolean;
}

/** Builds an instance: database and migrations, services, GraphQL, WebSocket and REST routes. */
export async function createApp(config: Config, opts: CreateAppOptions = {}): Promise<App> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const masterKey = resolveMasterKey(config);
  const box = createSecretBox(masterKey);
  const database = opts.database ?? (await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATABASE_URL ? '' : `${config.DATA_DIR}/pglite`, poolMax: config.DB_POOL_MAX, connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS }));
  // Data queries get a pool of their own with a shorter statement timeout, so that one expensive
  // query ends within its budget and cannot hold the connections ingest needs.
  const queryDatabase =
    database.client.kind === 'postgres' ? await openDatabase({ url: database.client.url, dataDir: '', poolMax: config.DB_QUERY_POOL_MAX, connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS, statementTimeoutMs: config.QUERY_STATEMENT_TIMEOUT_MS }) : undefined;
  const migrated = await runMigrations(database, { timescale: config.TIMESCALEDB, chunkInterval: config.TS_CHUNK_INTERVAL });
  log.info({ driver: database.client.kind, timescale: migrated.timescale, migrations: migrated.applied }, 'database ready');
  try {
    await verifyMasterKey(database.db, box, describeMasterKeySource(config));
  } catch (e) {
    if (!opts.database) await database.close();
    throw e;
  }
  const deps: AppDeps = {
    config,
    log,
    metrics: createMetrics(),
    database,
    db: database.db,
    queryDb: queryDatabase?.db ?? database.db,
    heavyQueries: createAdmissionController({ maxRequests: config.QUERY_HEAVY_MAX_CONCURRENT, maxRequestsPerKey: config.QUERY_HEAVY_MAX_PER_ORG, maxBytes: Number.MAX_SAFE_INTEGER, queueMax: config.ADMISSION_QUEUE_MAX, queueTimeoutMs: config.ADMISSION_QUEUE_TIMEOUT_MS }),
    valueAdmission: createAdmissionController({ maxRequests: Number.MAX_SAFE_INTEGER, maxBytes: config.INGEST_MAX_VALUES_IN_FLIGHT, queueMax: config.ADMISSION_QUEUE_MAX, queueTimeoutMs: config.ADMISSION_QUEUE_TIMEOUT_MS }),
    box,
    tokenSettings: { ttlS: config.TOKEN_TTL_S, skewMs: config.TOKEN_SKEW_MS, duplicateWindowMs: 10_000 },
    tokenFailures: createFailureLimiter(config.TOKEN_FAILURES_PER_MIN),
    ingestPipeline: createIngestPipeline(),
    fileStore: createFileStore(config, database.db),
    fileLinks: createFileLinkSigner(masterKey, config.FILE_URL_TTL_S),
    modelCache: createModelCache(),
    speculation: createSpeculationCaches(),
    executeGraphQL: (document, variables, access, requestId) => executeGraphQL(document, variables, access, requestId),
  };
  // NOTE: policies before live: live's log writer takes a lock held until commit, so it runs last.
  const policies = registerPolicyHooks(deps);
  const live = registerLiveHooks(deps);
  const stopFileJanitor = startFileJanitor(deps);
  let inflight = 0;
  registerSourceGauges(deps.metrics, {
    httpInFlight: () => inflight,
    ingestQueue: () => getIngestQueueStats(deps.ingestPipeline),
    liveSubscribers: () => live.stats(),
    liveRelay: () => live.relayStats(),
    database: () => database.stats(),
    admission: () =>
      [
        { kind: 'requests', stats: admission.stats() },
        { kind: 'ingest_values', stats: deps.valueAdmission.stats() },
        { kind: 'heavy_queries', stats: deps.heavyQueries.stats() },
      ].map(({ kind, stats: s }) => ({ kind, inflight: s.inflightRequests, inflightWeight: s.inflightBytes, queued: s.queued, rejectedTotal: s.rejectedTotal })),
    rollupPendingRows: () => countPendingRows(deps.db),
    periodicTasks: () => [
      { task: 'rollup_merge', ...policies.merger.stats() },
      ...(policies.scheduler ? [{ task: 'retention', ...policies.scheduler.stats() }] : []),
    ],
  });
  if (opts.bootstrap ?? database.client.kind === 'pglite') await bootstrapIfEmpty(deps.db, box, config.DATA_DIR, log);

  const limits = { maxDepth: config.GRAPHQL_MAX_DEPTH, maxAliases: config.GRAPHQL_MAX_ALIASES, maxCost: config.GRAPHQL_MAX_COST, maxTokens: config.GRAPHQL_MAX_TOKENS, maxDocumentBytes: config.GRAPHQL_MAX_DOCUMENT_BYTES, maxResponseBytes: config.QUERY_MAX_RESPONSE_BYTES };
  const schema = buildSchema();
  // The same error and result shaping for Apollo and for the ingest mutations run without it.
  const shape = { formatError: formatGraphQLError(log), serialise: createResultSerialiser(limits.maxResponseBytes, log) };
  const apollo = createApollo(schema, log, limits, shape);
  const direct = createDirectIngest({ schema, limits, ...shape });
  await apollo.start();
  const executeGraphQL: AppDeps['executeGraphQL'] = async (document, variables, access, requestId) => {
    const contextValue = createContext(deps, access, requestId, 'rest');
    const op = direct.prepare({ query: document, variables });
    const ran = op
      ? await direct.run(op, contextValue).catch((e: unknown) => {
          contextValue.budget.release();
          throw e;
        })
      : null;
    if (ran) contextValue.budget.release();
    // Without a direct result nothing ran: Apollo answers (and its plugin gives the budget's place back).
    const viaApollo = async () => {
      const r = await apollo.executeOperation({ query: document, variables }, { contextValue });
      if (r.body.kind !== 'single') throw new Error('incremental delivery is not supported in process');
      return r.body.singleResult;
    };
    const { data, errors } = ran ? ran.result : await viaApollo();
    return { ...(data !== undefined ? { data } : {}), ...(errors ? { errors } : {}) };
  };
  const expectedMigrations = countMigrationFiles();

  let stopping = false;
  // NOTE: the headers timeout runs from a request's first byte (an idle keep-alive connection is
  // governed by keepAliveTimeout alone); bodies get an idle timeout per request (below) instead of
  // a total one, so that a large upload on a slow but moving link always gets through.
  const server = createServer({ keepAliveTimeout: config.HTTP_KEEPALIVE_TIMEOUT_MS, headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS, requestTimeout: 0, connectionsCheckingInterval: Math.min(1_000, config.HTTP_HEADERS_TIMEOUT_MS) });
  const connectionStats = limitConnections(server, { maxConnections: config.HTTP_MAX_CONNECTIONS, maxPerAddress: config.HTTP_MAX_CONNECTIONS_PER_ADDRESS });
  const admission = createAdmissionController({ maxRequests: config.ADMISSION_MAX_REQUESTS, maxBytes: config.ADMISSION_MAX_BYTES, queueMax: config.ADMISSION_QUEUE_MAX, queueTimeoutMs: config.ADMISSION_QUEUE_TIMEOUT_MS });
  registerAdmissionController(admission);
  const gate = createDatabaseGate(deps.db, log);

  async function onRequest(req: IncomingMessage, res: ServerResponse) {
    inflight++;
    res.once('close', () => inflight--);
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', requestId);
    if (stopping) res.setHeader('connection', 'close');
    req.socket.setTimeout(config.HTTP_IDLE_TIMEOUT_MS);
    const url = new URL(req.url ?? '/', 'http://localhost');
    // PERF: a child logger costs its bindings' serialisation (with redaction); most requests log nothing.
    let requestLog: Logger | undefined;
    const rc: RouteContext = {
      deps,
      requestId,
      get log() {
        return (requestLog ??= log.child({ requestId }));
      },
      url,
    };
    const started = performance.now();
    let gated = false;
    let routeLabel = 'unmatched';
    res.once('finish', () => {
      const ms = performance.now() - started;
      deps.metrics.httpDuration.observe({ route: routeLabel, method: methodLabel(req.method), status: String(res.statusCode) }, ms / 1000);
      if (log.isLevelEnabled('debug')) rc.log.debug({ method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(ms) }, 'request');
      if (res.statusCode === 503 && !gated && !stopping && url.pathname !== '/readyz') gate.trip();
    });
    let permit: Permit | null = null;
    try {
      if (FIXED_ROUTES.has(url.pathname)) routeLabel = url.pathname;
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/metrics') return await serveMetrics(req, res, deps.metrics, config.METRICS_TOKEN);
      if (url.pathname === '/readyz') return await sendReadiness(res);
      if (url.pathname.startsWith(LANDING_ASSETS_PREFIX)) {
        routeLabel = LANDING_ASSETS_PREFIX + '*';
        if (serveLandingAsset(req, res, url.pathname)) return;
        return sendJson(res, 404, { errors: [{ message: 'no such asset', extensions: { code: 'NOT_FOUND' } }] });
      }
      const graphql = url.pathname === '/graphql';
      if (graphql && wantsLandingPage(req, url)) return serveLandingPage(req, res);
      if (gate.isDown()) {
        gated = true;
        return refuse(req, res, graphql, requestId, 503, ErrorCode.SERVICE_UNAVAILABLE, databaseUnavailable().message);
      }
      permit = await admission.acquire(admissionKey(req), admissionBytes(req));
      if (!permit) return refuse(req, res, graphql, requestId, 429, ErrorCode.RATE_LIMITED, 'too many requests in progress; retry later');
      res.once('close', permit.release);
      if (graphql) {
        if (req.method !== 'GET' && req.method !== 'POST') return sendJson(res, 405, { errors: [{ message: 'use GET or POST', extensions: { code: 'BAD_REQUEST' } }] }, { allow: 'GET, POST' });
        return await handleGraphQLHttp({ apollo, direct }, req, res, rc, limits);
      }
      const route = matchRoute(routeTable, req.method ?? 'GET', url.pathname);
      if (route) {
        routeLabel = route.path;
        return await route.handle(req, res, rc);
      }
      if (pathExists(routeTable, url.pathname)) return sendJson(res, 405, { code: 99400, msg: 'method not allowed', requestId, data: null });
      return sendJson(res, 404, { code: 99404, msg: 'no such route', requestId, data: null });
    } catch (e) {
      const safe = toSafeError(e, rc.log);
      if (!res.headersSent) return sendJson(res, safe.code === 'INTERNAL_SERVER_ERROR' ? 500 : safe.code === 'SERVICE_UNAVAILABLE' ? 503 : 400, { errors: [{ message: safe.message, extensions: { code: safe.code } }] });
      res.destroy();
    }
  }

  /** Readiness within READY_TIMEOUT_MS whatever the database does: a stalled database counts as down. */
  async function sendReadiness(res: ServerResponse): Promise<void> {
    const dbOk = await pingWithin(deps.db, READY_TIMEOUT_MS);
    const applied = dbOk ? await Promise.race([countAppliedMigrations(deps.db).catch(() => -1), sleep(READY_TIMEOUT_MS).then(() => -1)]) : -1;
    const ready = dbOk && applied >= expectedMigrations && !stopping;
    return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', database: dbOk, migrations: { applied, expected: expectedMigrations }, timescale: database.timescale, stream: live.backend.status() });
  }

  /** The fair-share key of a request: its organisation when this instance knows the token, else the token, else the client address. */
  function admissionKey(req: IncomingMessage): string {
    const token = tokenFromHeaders(req.headers);
    if (!token) return `addr:${clientAddress(req)}`;
    const caller = deps.speculation.callers.get(token);
    return caller ? `org:${caller.orgId}` : `token:${token}`;
  }
  server.on('request', (req, res) => void onRequest(req, res));
  server.on('close', () => gate.close());
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    log.debug({ err: (err as Error).message }, 'client error');
  });
  const ws: WsEndpoint = attachGraphQLWs(schema, deps, limits);
  routeUpgrades(server, '/graphql', ws.handleUpgrade);

  const app: App = {
    deps,
    server,
    apollo,
    admission,
    connectionStats,
    url: '',
    async listen() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.PORT, config.HOST, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      app.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address}:${addr.port}`;
      database.dataDirLock?.setUrl(app.url);
      log.info({ url: app.url, port: addr.port }, 'listening');
      return app.url;
    },
    async stop(deadlineMs = config.SHUTDOWN_DRAIN_MS) {
      if (stopping) return;
      stopping = true;
      stopFileJanitor();
      log.info({ inflight, deadlineMs }, 'shutting down');
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await ws.close();
      await live.close();
      const deadline = Date.now() + deadlineMs;
      while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      server.closeAllConnections();
      await closed;
      await apollo.stop();
      await policies.stop();
      await queryDatabase?.close();
      if (!opts.database) await database.close();
      log.info({}, 'stopped');
    },
  };
  return app;
}
