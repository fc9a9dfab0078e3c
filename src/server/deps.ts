import type { SecretBox } from '../auth/secret-box';
import type { FailureLimiter } from '../auth/rate-limit';
import type { TokenSettings } from '../auth/tokens';
import type { Config } from '../config';
import type { Access } from '../auth/permissions';
import type { SpeculationCaches } from '../auth/speculation';
import type { FileStore } from '../files/file-store';
import type { FileLinkSigner } from '../files/file-url';
import type { ModelCache } from '../ingest/model-cache';
import type { IngestPipeline } from '../ingest/pipeline';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { Database, Db } from '../storage/db';
import type { AdmissionController } from './admission';

/**
 * The long-lived services of one running instance, built once by createApp and shared by
 * GraphQL resolvers, graphql-ws and the REST shim.
 */
export interface AppDeps {
  readonly config: Config;
  readonly log: Logger;
  /** The instance's Prometheus registry and instruments (GET /metrics). */
  readonly metrics: Metrics;
  readonly database: Database;
  readonly db: Db;
  /** Admission of ingest values (INGEST_MAX_VALUES_IN_FLIGHT), by organisation. */
  readonly valueAdmission: AdmissionController;
  /** The heavy-query lane (QUERY_HEAVY_MAX_CONCURRENT, QUERY_HEAVY_MAX_PER_ORG), by organisation. */
  readonly heavyQueries: AdmissionController;
  /** The handle of data queries: its own pool whose statements stop after QUERY_STATEMENT_TIMEOUT_MS (the same handle as `db` on PGlite). */
  readonly queryDb: Db;
  readonly box: SecretBox;
  readonly tokenSettings: TokenSettings;
  readonly tokenFailures: FailureLimiter;
  /** Hooks of the ingest write path (policies, subscriptions). */
  readonly ingestPipeline: IngestPipeline;
  /** Where new uploaded files are written (FILE_STORE). */
  readonly fileStore: FileStore;
  /** Signs and verifies the short-lived links of files (FILE_URL_TTL_S). */
  readonly fileLinks: FileLinkSigner;
  /** Thing models compiled for ingest validation, by id and version. */
  readonly modelCache: ModelCache;
  /** Callers and devices as last confirmed, for read-only requests that speculate (auth/speculation.ts). */
  readonly speculation: SpeculationCaches;
  /**
   * Runs a GraphQL operation in process, as `access` (the REST shim translates EnOS requests
   * into the same mutations). Upload variables take any `{ promise: Promise<FileUpload> }`.
   * Errors come back formatted exactly as over HTTP (`extensions.code`, `extensions.details`).
   */
  readonly executeGraphQL: ExecuteGraphQL;
}

/** Result of {@link AppDeps.executeGraphQL}. */
export interface GraphQLOutcome {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { readonly message: string; readonly path?: readonly (string | number)[]; readonly extensions?: Record<string, unknown> }[];
}

/** See {@link AppDeps.executeGraphQL}. */
export type ExecuteGraphQL = (document: string, variables: Record<string, unknown>, access: Access, requestId: string) => Promise<GraphQLOutcome>;
