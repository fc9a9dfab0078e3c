import type { IngestBatch } from '../ingest/types';
import type { Logger } from '../log';
import { createPubSub } from '../pubsub/index';
import type { Database } from '../storage/db';
import type { LiveLog, StreamBackend } from './backend';
import { createLiveHub } from './hub';
import { appendBatches, checkResumeOffset, createKeyCache, getEarliestOffset, getHeadOffset, getOffsetBefore, pruneLog, readLog } from './log';

/** The PostgreSQL log (table live_messages) as a {@link LiveLog}. */
export function createPostgresLog(database: Database): LiveLog {
  const db = database.db;
  return {
    head: () => getHeadOffset(db),
    reader(orgId, afterOffset) {
      let pos = afterOffset;
      return {
        async next(limit) {
          const { items, prunedThrough } = await readLog(db, pos, limit, orgId);
          if (items.length) pos = items[items.length - 1]!.offset;
          return { items, prunedThrough, end: items.length < limit };
        },
        close() {},
      };
    },
    checkResume: (orgId, fromOffset, windowS) => checkResumeOffset(db, orgId, fromOffset, windowS),
    earliest: (orgId, windowS) => getEarliestOffset(db, orgId, windowS),
    offsetBefore: (orgId, timeMs) => getOffsetBefore(db, orgId, timeMs),
    prune: (windowS) => pruneLog(db, windowS),
  };
}

/**
 * The default backend: the log is the table live_messages, appended under an advisory lock in the
 * ingest transaction; every instance's hub reads it after a wake-up (NOTIFY on PostgreSQL,
 * in-process on PGlite).
 */
export function createPostgresBackend(database: Database, log: Logger): StreamBackend {
  const pubsub = createPubSub(database, log.child({ component: 'pubsub' }));
  const hub = createLiveHub({ db: database.db, pubsub, log: log.child({ component: 'live-hub' }) });
  const cache = createKeyCache();
  const offsets = new WeakMap<IngestBatch, number>();
  let unpublished = 0;
  return {
    kind: 'postgres',
    hub,
    log: createPostgresLog(database),
    async append(tx, batches) {
      const out = await appendBatches(tx, batches, cache, pubsub.notifyChannel);
      batches.forEach((b, k) => out[k] != null && offsets.set(b, out[k]!));
    },
    committed(batch) {
      const offset = offsets.get(batch);
      if (offset === undefined) return;
      // PERF: the batches of one transaction are acknowledged in the same turn of the event loop;
      // one wake-up with the highest offset serves them all. A NOTIFY sent by the transaction
      // itself announced them to the other instances already.
      if (!unpublished) {
        setImmediate(() => {
          const head = unpublished;
          unpublished = 0;
          hub.wake(head);
          if (!pubsub.notifyChannel) pubsub.publish(head);
        });
      }
      unpublished = Math.max(unpublished, offset);
    },
    requireAvailable() {},
    status: () => ({ backend: 'postgres', available: true }),
    async close() {
      await hub.close();
      await pubsub.close();
    },
  };
}
