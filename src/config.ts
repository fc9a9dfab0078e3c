import { z } from 'zod';

/** Parses an integer env value (decimal digits only). */
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a non-negative integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((v) => v ?? def);

const str = (def: string) =>
  z
    .string()
    .min(1)
    .optional()
    .transform((v) => v ?? def);

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? def : v === 'true' || v === '1'));

/**
 * Every environment variable Tributary reads, with its default. The only reader of
 * `process.env` is `main.ts`/`cli.ts`, which hands the record to {@link loadConfig}.
 */
const envSchema = z.object({
  /** HTTP port for GraphQL, WebSocket, REST shim and health routes. Default 4000; 0 picks a free port. */
  PORT: int(4000, 0, 65535),
  /** Interface to bind. Default 0.0.0.0. */
  HOST: str('0.0.0.0'),
  /** PostgreSQL URL. When unset Tributary runs on embedded PGlite under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  /** Directory for the embedded database, bootstrap keys and (optionally) files. Default ./data. */
  DATA_DIR: str('./data'),
  /** Maximum PostgreSQL connections per instance. Default 10. */
  DB_POOL_MAX: int(10, 1, 500),
  /** TimescaleDB use: `auto` (use when the server has it), `require` (fail without it), `off`. */
  TIMESCALEDB: z.enum(['auto', 'require', 'off']).optional().transform((v) => v ?? 'auto'),
  /** Hypertable chunk interval, a PostgreSQL interval. Default `1 day`. */
  TS_CHUNK_INTERVAL: str('1 day').pipe(z.string().regex(/^\d+\s*(second|minute|hour|day|week|month)s?$/i, 'must look like "1 day" or "6 hours"')),
  /** pino level. Default info. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().transform((v) => v ?? 'info'),
  /** Bearer token that GET /metrics requires (`Authorization: Bearer <token>`). Default: unset, /metrics is open (bind it to a private network). */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** How long SIGTERM waits for in-flight requests before closing. Default 10000 ms. */
  SHUTDOWN_DRAIN_MS: int(10_000, 0, 600_000),
  /**
   * Drain and stop when the process that started `serve` exits: `auto` (when started by an npm
   * script or npx, which leave their child running when stopped), `true`, `false`. Default auto.
   */
  STOP_WITH_PARENT: z.enum(['auto', 'true', 'false']).optional().transform((v) => v ?? 'auto'),
  /** Set by npm for scripts and npx (e.g. `start`); read only to resolve STOP_WITH_PARENT=auto. */
  npm_lifecycle_event: z.string().optional(),
  /** Idle keep-alive timeout; above the EnOS SDK's 5-minute pool idle time. Default 330000 ms. */
  HTTP_KEEPALIVE_TIMEOUT_MS: int(330_000, 1_000),
  /** Longest time a client may take to send a request's headers; the socket is then closed. Default 10000 ms. */
  HTTP_HEADERS_TIMEOUT_MS: int(10_000, 100, 600_000),
  /** Longest silence while a request body is being received or a response is pending on the socket; a slow but moving upload is never cut. Default 30000 ms. */
  HTTP_IDLE_TIMEOUT_MS: int(30_000, 100, 3_600_000),
  /** Open HTTP connections (WebSocket included) per instance; more are closed at once. Default 4000. */
  HTTP_MAX_CONNECTIONS: int(4_000, 1, 1_000_000),
  /** Open HTTP connections per client address; more are closed at once. Default 500. */
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: int(500, 1, 1_000_000),
  /** Requests (GraphQL and REST) processed at once per instance; more wait in the admission queue. Default 64. */
  ADMISSION_MAX_REQUESTS: int(64, 1, 100_000),
  /** Request body bytes being processed at once per instance (multipart counts its JSON parts, not spooled files). Default 64 MiB. */
  ADMISSION_MAX_BYTES: int(64 * 1024 * 1024, 1024),
  /** Ingest values (points, attributes, events) being validated and written at once per instance, shared fairly by organisations; more wait in the queue. Default 200000. */
  INGEST_MAX_VALUES_IN_FLIGHT: int(200_000, 1, 100_000_000),
  /** Requests waiting for admission per instance; more are refused with 429. Default 256. */
  ADMISSION_QUEUE_MAX: int(256, 0, 1_000_000),
  /** Longest wait in the admission queue before a request is refused with 429. Default 2000 ms. */
  ADMISSION_QUEUE_TIMEOUT_MS: int(2_000, 0, 600_000),
  /** Open graphql-ws connections per organisation and instance; more are refused with close code 4429. Default 1000. */
  WS_MAX_CONNECTIONS_PER_ORG: int(1_000, 1, 1_000_000),
  /** Largest GraphQL document (the query text). Default 65536 bytes. */
  GRAPHQL_MAX_DOCUMENT_BYTES: int(65_536, 256, 16 * 1024 * 1024),
  /** Most lexical tokens in one GraphQL document; parsing stops there. Default 10000. */
  GRAPHQL_MAX_TOKENS: int(10_000, 100, 10_000_000),
  /** Longest run of one SQL statement of ingest, registry and housekeeping (PostgreSQL statement_timeout); 0 disables. Default 30000 ms. */
  DB_STATEMENT_TIMEOUT_MS: int(30_000, 0, 3_600_000),
  /** Longest run of one SQL statement of a data query (history, aggregates, latest values, events, files); the query then fails with QUERY_TOO_COMPLEX. Default 10000 ms. */
  QUERY_STATEMENT_TIMEOUT_MS: int(10_000, 0, 3_600_000),
  /** PostgreSQL connections per instance for data queries, besides DB_POOL_MAX (their own pool, with QUERY_STATEMENT_TIMEOUT_MS). Default 5. */
  DB_QUERY_POOL_MAX: int(5, 1, 500),
  /** Longest wait for a new PostgreSQL connection before the request fails with 503. Default 3000 ms. */
  DB_CONNECT_TIMEOUT_MS: int(3_000, 100, 120_000),
  /** Largest JSON request body accepted (GraphQL and REST JSON). Default 16 MiB. */
  REQUEST_BODY_MAX_BYTES: int(16 * 1024 * 1024, 1024),
  /** Master key (32 bytes as 64 hex chars or base64) that encrypts SA secrets at rest. Required with DATABASE_URL; generated under DATA_DIR for the embedded default. */
  SECRET_ENCRYPTION_KEY: z.string().optional(),
  /** Access-token lifetime. Default 7200 s (EnOS default). */
  TOKEN_TTL_S: int(7200, 660),
  /** Allowed difference between the client's token timestamp and ours. Default 300000 ms. */
  TOKEN_SKEW_MS: int(300_000, 1_000),
  /** Failed token requests allowed per AccessKey and per client address per minute. Default 20. */
  TOKEN_FAILURES_PER_MIN: int(20, 1),
  /** Maximum GraphQL selection depth. Default 12. */
  GRAPHQL_MAX_DEPTH: int(12, 2, 100),
  /** Maximum aliases in one GraphQL document. Default 50. */
  GRAPHQL_MAX_ALIASES: int(50, 1, 10_000),
  /** Maximum estimated cost of one GraphQL operation. Default 100000. */
  GRAPHQL_MAX_COST: int(100_000, 10),
  /** Largest page of a registry list. Default 200. */
  REGISTRY_PAGE_MAX: int(200, 1, 10_000),
  /** Largest page of a data query. Default 1000 rows. */
  QUERY_PAGE_MAX_ROWS: int(1000, 1, 100_000),
  /** Largest devices x points product in one data query. Default 3000. */
  QUERY_MAX_SERIES: int(3000, 1, 1_000_000),
  /** Largest devices x points product of one latest-values query. Default 100000. */
  QUERY_LATEST_MAX_VALUES: int(100_000, 1, 10_000_000),
  /** Most latest values an instance keeps in memory, a device counting as one more (query/latest-cache.ts); 0 disables the cache. Default 1000000. */
  LATEST_CACHE_MAX_VALUES: int(1_000_000, 0, 100_000_000),
  /** How long a latest read waits for the instance to catch up with the message log before reading the database. Default 50 ms. */
  LATEST_CACHE_CATCH_UP_MS: int(50, 0, 60_000),
  /** Largest devices x aggregates x buckets of one aggregate query. Default 1000000. */
  QUERY_MAX_AGGREGATE_VALUES: int(1_000_000, 1, 100_000_000),
  /** Data values (aggregate buckets, history and event rows, latest values) one GraphQL operation may return, summed over its fields; counted before they are read, beyond it RESPONSE_TOO_LARGE. Default 1000000. */
  QUERY_MAX_RESPONSE_VALUES: int(1_000_000, 1, 100_000_000),
  /** Largest serialised GraphQL response (UTF-8 JSON); beyond it the operation answers RESPONSE_TOO_LARGE instead. Default 33554432 (32 MiB). */
  QUERY_MAX_RESPONSE_BYTES: int(32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  /** A data field is heavy from this many values (aggregate buckets x series, latest values), and so is a history or event page of QUERY_PAGE_MAX_ROWS. Default 100000. */
  QUERY_HEAVY_MIN_VALUES: int(100_000, 1, 100_000_000),
  /** Heavy queries running at once per instance; more wait in the admission queue, then get RATE_LIMITED. Default 2. */
  QUERY_HEAVY_MAX_CONCURRENT: int(2, 1, 10_000),
  /** Heavy queries running at once per organisation and instance. Default 1. */
  QUERY_HEAVY_MAX_PER_ORG: int(1, 1, 10_000),
  /** Largest number of values in one ingest request. Default 10000. */
  INGEST_MAX_POINTS: int(10_000, 1, 1_000_000),
  /** Largest file accepted. Default 100 MiB (EnOS). */
  UPLOAD_MAX_BYTES: int(100 * 1024 * 1024, 1),
  /** Largest number of files in one request. Default 20. */
  UPLOAD_MAX_FILES: int(20, 0, 10_000),
  /** Largest `enos-message` part. Default 512 KiB (EnOS). */
  ENOS_MESSAGE_MAX_BYTES: int(512 * 1024, 1024),
  /** Directory where the REST shim spools uploaded file parts while a request is processed. Default: the OS temp directory. */
  UPLOAD_TMP_DIR: z.string().optional(),
  /** Where file contents live: `postgres` (chunked bytea, default, seen by every instance) or `dir`. */
  FILE_STORE: z.enum(['postgres', 'dir']).optional().transform((v) => v ?? 'postgres'),
  /** Directory for FILE_STORE=dir. Default DATA_DIR/files. */
  FILE_DIR: z.string().optional(),
  /** Age after which an upload still `pending` (its request failed or the process died) is removed. Default 3600 s. */
  FILE_PENDING_MAX_AGE_S: int(3600, 60),
  /** Lifetime of signed file links (getDownloadUrl answers, Lark upload URLs, firmware links). Default 900 s. */
  FILE_URL_TTL_S: int(900, 10, 7 * 86_400),
  /**
   * Base URL that signed file links start with, e.g. https://iot.example.com when a proxy fronts
   * the service. Default: http:// and the Host header of the request that asked for the link.
   */
  PUBLIC_URL: z.string().url().optional(),
  /** Period of the stale-upload janitor. Default 300000 ms. */
  FILE_JANITOR_INTERVAL_MS: int(300_000, 1_000),
  /** Coalesce concurrent ingest calls into shared transactions (group commit). Default true. */
  INGEST_GROUP_COMMIT: bool(true),
  /** Ingest write transactions in flight at once per instance (a second only beside one of 500 values or more); more calls queue and share transactions. Default 2. */
  INGEST_MAX_PARALLEL_TX: int(2, 1, 100),
  /** Replay window of subscriptions. Default 259200 s (3 days, as EnOS). */
  REPLAY_WINDOW_S: int(259_200, 60),
  /** Messages buffered for one subscriber before it is disconnected. Default 1000. */
  SUBSCRIBER_BUFFER_MAX: int(1000, 1),
  /** NATS server(s) of the JetStream stream backend, comma-separated (`nats://host:4222`). Default: unset, the live stream is the PostgreSQL log. */
  NATS_URL: z
    .string()
    .regex(/^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/, 'must be nats://host:port[,nats://host:port...]')
    .optional(),
  /** User name Tributary connects to NATS with (with NATS_PASSWORD). Default: unset. */
  NATS_USER: z.string().min(1).optional(),
  /** Password of NATS_USER. Default: unset. */
  NATS_PASSWORD: z.string().min(1).optional(),
  /** Name of the JetStream stream that holds the live messages (created when missing). Default TRIBUTARY_LIVE. */
  NATS_STREAM: str('TRIBUTARY_LIVE').pipe(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, _ or -')),
  /** First tokens of every live subject: `<prefix>.<org>.<channel>.<productKey>.<deviceKey>`. Default tributary.live. */
  NATS_SUBJECT_PREFIX: str('tributary.live').pipe(z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated tokens of letters, digits, _ or -')),
  /** JetStream duplicate window: how long a relayed message id is remembered, so a message relayed twice is stored once. Default 600 s. */
  NATS_DUPLICATE_WINDOW_S: int(600, 1, 86_400),
  /** Time a graphql-ws client has to send connection_init. Default 10000 ms. */
  WS_INIT_TIMEOUT_MS: int(10_000, 100),
  /** Period at which each instance merges pending rollup deltas into the rollup tables (policies/rollup-journal.ts). Default 1000 ms. */
  ROLLUP_APPLY_INTERVAL_MS: int(1_000, 50),
  /** Run the retention scheduler in this instance. Default true. */
  SCHEDULER_ENABLED: bool(true),
  /** Period of the retention scheduler. Default 3600000 ms. */
  RETENTION_INTERVAL_MS: int(3_600_000, 1_000),
  /** Storage policy of points whose model has none: `NONE` (latest value only, as EnOS) or forms with retention days, e.g. `RAW:365,ROLLUP_1H:1825`. Default `RAW:7305`. */
  POLICY_DEFAULT_STORAGE: str('RAW:7305').pipe(z.string().regex(/^(NONE|(RAW|NORMALIZED_1M|ROLLUP_1M|ROLLUP_1H|ROLLUP_1D):\d{1,4}(,(RAW|NORMALIZED_1M|ROLLUP_1M|ROLLUP_1H|ROLLUP_1D):\d{1,4})*)$/, 'must be NONE or FORM:DAYS[,FORM:DAYS...]')),
  /** How long an instance trusts its cached policies before checking the model's policy revision. Default 2000 ms. */
  POLICY_CACHE_TTL_MS: int(2_000, 0, 600_000),
  /** Rows deleted per statement by the retention scheduler (small, so that ingestion never waits). Default 5000. */
  RETENTION_BATCH_ROWS: int(5_000, 1, 1_000_000),
});

/** The name of every environment variable Tributary reads (docs/configuration.md lists each). */
export const CONFIG_KEYS: readonly string[] = Object.freeze(Object.keys(envSchema.shape));

/** The validated, frozen configuration. */
export type Config = Readonly<z.output<typeof envSchema>>;

/** Raised by {@link loadConfig}; lists every bad key. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

/**
 * Parses the environment once. Unknown keys are ignored; every invalid key is reported.
 * Empty strings count as unset.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return Object.freeze(parsed.data);
}
