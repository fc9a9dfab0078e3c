import type { Access } from '../auth/permissions';
import { badInput } from '../errors';
import type { IngestBatch } from '../ingest/types';
import { createPubSub, type PubSub } from '../pubsub/index';
import type { AppDeps } from '../server/deps';
import { openGroupConsumer } from './consumer';
import { parseGroup, parseOffset } from './input';
import { requireJobDevices } from './job-offsets';
import { compileFilter, parseFilter } from './filter';
import { createLiveHub, type LiveHub } from './hub';
import { getJob } from './jobs';
import { appendBatches, checkResumeOffset, createKeyCache, getHeadOffset, pruneLog } from './log';
import type { LiveKind } from './project';
import { LiveStream, type LiveStreamObserver } from './stream';
import { createLatestCache, type LatestCache } from '../query/latest-cache';
import { sql } from 'drizzle-orm';
import { queryRows } from '../storage/db';

/**
 * Close code of a subscriber that fell SUBSCRIBER_BUFFER_MAX messages behind. It can reconnect
 * and resume from the last offset it processed.
 */
export const CLOSE_SLOW_CONSUMER = 4008;

/** What a live stream needs from its connection: a way to disconnect a slow subscriber. */
export interface LiveConnection {
  close(code: number, reason: string): void;
}

/** The live-subscription runtime of one instance. */
export interface LiveService {
  readonly hub: LiveHub;
  readonly pubsub: PubSub;
  /** Latest values kept in memory and moved by the log (query/latest-cache.ts). */
  readonly latest: LatestCache;
  /** Opens a filtered stream for the caller (ASSET_READ). */
  openStream(access: Access, conn: LiveConnection | undefined, kind: LiveKind, args: { filter?: unknown; fromOffset?: string | null | undefined }): Promise<LiveStream>;
  /** Joins a job's consumer group (ASSET_READ; with autoCommit, on every device the job selects). */
  openJobConsumer(access: Access, conn: LiveConnection | undefined, args: { jobId: string; group?: string | null | undefined; autoCommit?: boolean | null | undefined }): Promise<LiveStream>;
  /** Open streams, batches they queue, the largest lag in log offsets, and batches handed out so far. */
  stats(): LiveStats;
  /** Runs retention once: prunes the log and forgets stale group members. */
  prune(): Promise<number>;
  close(): Promise<void>;
}

/** See {@link LiveService.stats}. */
export interface LiveStats {
  readonly open: number;
  readonly queued: number;
  readonly maxLagOffsets: number;
  readonly delivered: number;
}

const services = new WeakMap<AppDeps, LiveService>();

/** The live service registered on `deps`. */
export function liveOf(deps: AppDeps): LiveService {
  const s = services.get(deps);
  if (!s) throw new Error('registerLiveHooks was not called');
  return s;
}

/** The parsers of client offsets and group names (kept here for existing importers). */
export { parseGroup, parseOffset } from './input';

/**
 * Plugs live subscriptions into the ingest pipeline: a writer appends each batch to the message
 * log in the ingest transaction (so a message exists iff its data committed), and a committed
 * hook wakes every instance's hub (NOTIFY on PostgreSQL, in-process on PGlite). Starts the hub
 * and, when SCHEDULER_ENABLED, the log retention. NOTE: register it after other writers, so that
 * the append lock is held for as short a time as possible.
 */
export function registerLiveHooks(deps: AppDeps): LiveService {
  const { config, db, log } = deps;
  const pubsub = createPubSub(deps.database, log.child({ component: 'pubsub' }));
  const hub = createLiveHub({ db, pubsub, log: log.child({ component: 'live-hub' }) });
  const latest = createLatestCache({ hub, log: log.child({ component: 'latest-cache' }), maxValues: config.LATEST_CACHE_MAX_VALUES, catchUpMs: config.LATEST_CACHE_CATCH_UP_MS });
  const cache = createKeyCache();
  const offsets = new WeakMap<IngestBatch, number>();
  deps.ingestPipeline.writers.push(async (tx, batches) => {
    const out = await appendBatches(tx, batches, cache);
    batches.forEach((b, k) => out[k] != null && offsets.set(b, out[k]!));
  });
  // PERF: the batches of one transaction are acknowledged in the same turn of the event loop;
  // one wake-up with the highest offset serves them all.
  let unpublished = 0;
  deps.ingestPipeline.committed.push((batch) => {
    const offset = offsets.get(batch);
    if (offset === undefined) return;
    if (!unpublished) {
      setImmediate(() => {
        const head = unpublished;
        unpublished = 0;
        hub.wake();
        pubsub.publish(head);
      });
    }
    unpublished = Math.max(unpublished, offset);
  });

  const open = new Set<LiveStream>();
  let delivered = 0;
  const observer: LiveStreamObserver = {
    opened: (s) => void open.add(s),
    handed: () => void delivered++,
    closed: (s) => void open.delete(s),
  };

  const overflow = (conn: LiveConnection | undefined) => (reason = 'Subscriber too slow') => {
    log.info({ code: CLOSE_SLOW_CONSUMER, reason }, 'subscriber disconnected to resume');
    conn?.close(CLOSE_SLOW_CONSUMER, reason);
  };

  const service: LiveService = {
    hub,
    pubsub,
    latest,
    async openStream(access, conn, kind, args) {
      const caller = access.require('ASSET_READ');
      const filter = await compileFilter(db, access, parseFilter(args.filter));
      const from = args.fromOffset == null ? null : parseOffset(args.fromOffset);
      await hub.ready();
      if (from !== null) {
        if (from > hub.cursor && from > (await getHeadOffset(db))) throw badInput('offset is ahead of the message log', { fromOffset: args.fromOffset });
        await checkResumeOffset(db, caller.orgId, from, config.REPLAY_WINDOW_S);
      }
      return new LiveStream({ db, hub, orgId: caller.orgId, selection: { kind, filter, partitions: null }, fromOffset: from, bufferMax: config.SUBSCRIBER_BUFFER_MAX, onOverflow: overflow(conn), observer });
    },
    async openJobConsumer(access, conn, args) {
      const caller = access.require('ASSET_READ');
      const group = parseGroup(args.group);
      const job = await getJob(db, caller.orgId, args.jobId);
      const filter = await compileFilter(db, access, parseFilter(job.filter));
      const autoCommit = args.autoCommit ?? true;
      // Committing moves the group past messages this consumer's grant filters out of its stream.
      if (autoCommit) await requireJobDevices(db, access, job, '; consume with autoCommit: false');
      return openGroupConsumer({ db, hub, log, job, group, filter, autoCommit, bufferMax: config.SUBSCRIBER_BUFFER_MAX, replayWindowS: config.REPLAY_WINDOW_S, onOverflow: overflow(conn), observer });
    },
    stats() {
      let queued = 0;
      let maxLagOffsets = 0;
      for (const s of open) {
        queued += s.queued;
        maxLagOffsets = Math.max(maxLagOffsets, hub.cursor - s.delivered);
      }
      return { open: open.size, queued, maxLagOffsets, delivered };
    },
    async prune() {
      const n = await pruneLog(db, config.REPLAY_WINDOW_S);
      await queryRows(db, sql`delete from live_group_members where heartbeat_at < now() - interval '1 hour'`);
      return n;
    },
    async close() {
      clearInterval(timer);
      latest.close();
      await hub.close();
      await pubsub.close();
    },
  };
  const timer = setInterval(() => {
    service.prune().then(
      (removed) => removed && log.info({ removed }, 'live log pruned'),
      (err: unknown) => log.warn({ err }, 'live log pruning failed'),
    );
  }, config.RETENTION_INTERVAL_MS);
  timer.unref();
  if (!config.SCHEDULER_ENABLED) clearInterval(timer);
  services.set(deps, service);
  return service;
}
