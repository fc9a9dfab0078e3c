import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApolloServer } from '@apollo/server';
import { createFailureLimiter } from '../auth/rate-limit';
import { createSecretBox } from '../auth/secret-box';
import { createSpeculationCaches } from '../auth/speculation';
import type { Config } from '../config';
import { toSafeError } from '../errors';
import { buildSchema } from '../graphql/schema';
import { createFileStore } from '../files/file-store';
import { startFileJanitor } from '../files/file-janitor';
import { createContext, type GraphQLContext } from '../graphql/context';
import { getIngestQueueStats } from '../ingest/ingest-service';
import { createModelCache } from '../ingest/model-cache';
import { createIngestPipeline } from '../ingest/pipeline';
import { registerLiveHooks } from '../live/service';
import { createLogger, type Logger } from '../log';
import { createMetrics, registerSourceGauges } from '../metrics/metrics';
import { registerPolicyHooks } from '../policies/hooks';
import { countPendingRows } from '../policies/rollup-journal';
import { openDatabase, pingDatabase, type Database } from '../storage/db';
import { countAppliedMigrations, countMigrationFiles, runMigrations } from '../storage/migrate';
import { createApollo } from './apollo';
import { bootstrapIfEmpty } from './bootstrap';
import type { AppDeps } from './deps';
import { handleGraphQLHttp } from './graphql-http';
import { attachGraphQLWs, type WsEndpoint } from './graphql-ws';
import { sendJson } from './http-util';
import { LANDING_ASSETS_PREFIX, serveLandingAsset, serveLandingPage, wantsLandingPage } from './landing-page';
import { methodLabel, serveMetrics } from './metrics-http';
import { routeTable } from './route-table';
import { matchRoute, pathExists, type RouteContext } from './routes';
import { resolveMasterKey } from './secret-key';

/** Paths served outside the route table (each is its own `route` label in the metrics). */
const FIXED_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/graphql']);

/** A running instance. */
export interface App {
  readonly deps: AppDeps;
  readonly server: Server;
  readonly apollo: ApolloServer<GraphQLContext>;
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
  const box = createSecretBox(resolveMasterKey(config));
  const database = opts.database ?? (await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATABASE_URL ? '' : `${config.DATA_DIR}/pglite`, poolMax: config.DB_POOL_MAX }));
  const migrated = await runMigrations(database, { timescale: config.TIMESCALEDB, chunkInterval: config.TS_CHUNK_INTERVAL });
  log.info({ driver: database.client.kind, timescale: migrated.timescale, migrations: migrated.applied }, 'database ready');
  const deps: AppDeps = {
    config,
    log,
    metrics: createMetrics(),
    database,
    db: database.db,
    box,
    tokenSettings: { ttlS: config.TOKEN_TTL_S, skewMs: config.TOKEN_SKEW_MS, duplicateWindowMs: 10_000 },
    tokenFailures: createFailureLimiter(config.TOKEN_FAILURES_PER_MIN),
    ingestPipeline: createIngestPipeline(),
    fileStore: createFileStore(config, database.db),
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
    database: () => database.stats(),
    rollupPendingRows: () => countPendingRows(deps.db),
    periodicTasks: () => [
      { task: 'rollup_merge', ...policies.merger.stats() },
      ...(policies.scheduler ? [{ task: 'retention', ...policies.scheduler.stats() }] : []),
    ],
  });
  if (opts.bootstrap ?? database.client.kind === 'pglite') await bootstrapIfEmpty(deps.db, box, config.DATA_DIR, log);

  const limits = { maxDepth: config.GRAPHQL_MAX_DEPTH, maxAliases: config.GRAPHQL_MAX_ALIASES, maxCost: config.GRAPHQL_MAX_COST };
  const schema = buildSchema();
  const apollo = createApollo(schema, log, limits);
  await apollo.start();
  const executeGraphQL: AppDeps['executeGraphQL'] = async (document, variables, access, requestId) => {
    const r = await apollo.executeOperation({ query: document, variables }, { contextValue: createContext(deps, access, requestId, 'rest') });
    if (r.body.kind !== 'single') throw new Error('incremental delivery is not supported in process');
    const { data, errors } = r.body.singleResult;
    return { ...(data !== undefined ? { data } : {}), ...(errors ? { errors } : {}) };
  };
  const expectedMigrations = countMigrationFiles();

  let stopping = false;
  const server = createServer({ keepAliveTimeout: config.HTTP_KEEPALIVE_TIMEOUT_MS, headersTimeout: config.HTTP_KEEPALIVE_TIMEOUT_MS + 5_000, requestTimeout: 600_000 });

  async function onRequest(req: IncomingMessage, res: ServerResponse) {
    inflight++;
    res.once('close', () => inflight--);
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', requestId);
    if (stopping) res.setHeader('connection', 'close');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rc: RouteContext = { deps, requestId, log: log.child({ requestId }), url };
    const started = performance.now();
    let routeLabel = 'unmatched';
    res.once('finish', () => {
      const ms = performance.now() - started;
      deps.metrics.httpDuration.observe({ route: routeLabel, method: methodLabel(req.method), status: String(res.statusCode) }, ms / 1000);
      rc.log.debug({ method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(ms) }, 'request');
    });
    try {
      if (FIXED_ROUTES.has(url.pathname)) routeLabel = url.pathname;
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/metrics') return await serveMetrics(req, res, deps.metrics, config.METRICS_TOKEN);
      if (url.pathname === '/readyz') {
        const dbOk = await pingDatabase(deps.db);
        const applied = dbOk ? await countAppliedMigrations(deps.db).catch(() => -1) : -1;
        const ready = dbOk && applied >= expectedMigrations && !stopping;
        return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', database: dbOk, migrations: { applied, expected: expectedMigrations }, timescale: database.timescale });
      }
      if (url.pathname.startsWith(LANDING_ASSETS_PREFIX)) {
        routeLabel = LANDING_ASSETS_PREFIX + '*';
        if (serveLandingAsset(req, res, url.pathname)) return;
        return sendJson(res, 404, { errors: [{ message: 'no such asset', extensions: { code: 'NOT_FOUND' } }] });
      }
      if (url.pathname === '/graphql') {
        if (wantsLandingPage(req, url)) return serveLandingPage(req, res);
        if (req.method !== 'GET' && req.method !== 'POST') return sendJson(res, 405, { errors: [{ message: 'use GET or POST', extensions: { code: 'BAD_REQUEST' } }] }, { allow: 'GET, POST' });
        return await handleGraphQLHttp(apollo, req, res, rc);
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
      if (!res.headersSent) return sendJson(res, safe.code === 'INTERNAL_SERVER_ERROR' ? 500 : 400, { errors: [{ message: safe.message, extensions: { code: safe.code } }] });
      res.destroy();
    }
  }
  server.on('request', (req, res) => void onRequest(req, res));
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    log.debug({ err: (err as Error).message }, 'client error');
  });
  const ws: WsEndpoint = attachGraphQLWs(server, '/graphql', schema, deps, limits);

  const app: App = {
    deps,
    server,
    apollo,
    url: '',
    async listen() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.PORT, config.HOST, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      app.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address}:${addr.port}`;
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
      if (!opts.database) await database.close();
      log.info({}, 'stopped');
    },
  };
  return app;
}
