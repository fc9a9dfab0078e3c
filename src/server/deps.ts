import type { SecretBox } from '../auth/secret-box';
import type { FailureLimiter } from '../auth/rate-limit';
import type { TokenSettings } from '../auth/tokens';
import type { Config } from '../config';
import type { IngestPipeline } from '../ingest/pipeline';
import type { Logger } from '../log';
import type { Database, Db } from '../storage/db';
import type { ExecuteGraphQL } from './execute-graphql';

/**
 * The long-lived services of one running instance, built once by createApp and shared by
 * GraphQL resolvers, graphql-ws and the REST shim.
 */
export interface AppDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly database: Database;
  readonly db: Db;
  readonly box: SecretBox;
  readonly tokenSettings: TokenSettings;
  readonly tokenFailures: FailureLimiter;
  /** Hooks of the ingest write path (policies, subscriptions). */
  readonly ingestPipeline: IngestPipeline;
  /** Runs a GraphQL operation in process as a given caller (the REST shim's only way in). */
  readonly executeGraphQL: ExecuteGraphQL;
}
