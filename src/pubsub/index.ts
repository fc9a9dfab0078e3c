import type { Logger } from '../log';
import type { Database } from '../storage/db';
import { createInProcessPubSub } from './in-process';
import { createPgNotifyPubSub } from './pg-notify';
import type { PubSub } from './types';

export type { PubSub } from './types';

/** The default PubSub for a database: NOTIFY on PostgreSQL, in-process on PGlite. */
export function createPubSub(database: Database, log: Logger): PubSub {
  if (database.client.kind === 'postgres') return createPgNotifyPubSub(database.client.sql, log);
  return createInProcessPubSub();
}
