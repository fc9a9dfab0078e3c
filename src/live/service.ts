import type { Access } from '../auth/permissions';
import { badInput } from '../errors';
import type { AppDeps } from '../server/deps';
import type { LiveLog, StreamBackend } from './backend';
import { openGroupConsumer } from './consumer';
import { parseGroup, parseOffset } from './input';
import { requireJobDevices } from './job-offsets';
import { compileFilter, parseFilter } from './filter';
import type { LiveHub } from './hub';
import { getJob } from './jobs';
import { createNatsBackend, type NatsBackend } from './nats/backend';
import type { RelayStats } from './nats/outbox';
import { createPostgresBackend } from './pg-backend';
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
  /** Where messages are stored and read: the PostgreSQL log or NATS JetStream. */
  readonly backend: StreamBackend;
  /** The backend's log (replay, offsets, retention). */
  readonly log: LiveLog;
  /** Latest values kept in memory and moved by the log (query/latest-cache.ts). */
  readonly latest: LatestCache;
  /** Opens a filtered stream for the caller (ASSET_READ). */
  openStream(access: Access, conn: LiveConnection | undefined, kind: LiveKind, args: { filter?: unknown; fromOffset?: string | null | undefined }): Promise<LiveStream>;
  /** Joins a job's consumer group (ASSET_READ; with autoCommit, on every device the job selects). */
  openJobConsumer(access: Access, conn: LiveConnection | undefined, args: { jobId: string; group?: string | null | undefined; autoCommit?: boolean | null | undefined }): Promise<LiveStream>;
  /** Open streams, batches they queue, the largest lag in log offsets, and batches handed out so far. */
  stats(): LiveStats;
  /** The NATS backend's outbox relay figures; null on the PostgreSQL log. */
  relayStats(): Promise<RelayStats | null>;
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
 * Plugs live subscriptions into the ingest pipeline: a writer appends each batch's message in the
 * ingest transaction (so a message exists iff its data committed) and a committed hook tells the
 * stream backend (NOTIFY on PostgreSQL, in-process on PGlite, the outbox relay with NATS_URL).
 * Starts the hub and, when SCHEDULER_ENABLED, retention. NOTE: register it after other writers,
 * so that the PostgreSQL log's append lock is held for as short a time as possible.
 */
export function registerLiveHooks(deps: AppDeps): LiveService {
  const { config, db, log } = deps;
  const backend = config.NATS_URL ? createNatsBackend(deps, config.NATS_URL) : createPostgresBackend(deps.database, log);
  const { hub } = backend;
  const liveLog = backend.log;
  // NOTE: the cache's consistency rests on log offsets that follow the database's commit order
  // (query/latest-cache.ts); JetStream sequences do not, so with NATS latest values come from the database.
  const latest = createLatestCache({ hub, log: log.child({ component: 'latest-cache' }), maxValues: backend.kind === 'postgres' ? config.LATEST_CACHE_MAX_VALUES : 0, catchUpMs: config.LATEST_CACHE_CATCH_UP_MS });
  deps.ingestPipeline.writers.push((tx, batches) => backend.append(tx, batches));
  deps.ingestPipeline.committed.push((batch) => backend.committed(batch));

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
    backend,
    log: liveLog,
    latest,
    async openStream(access, conn, kind, args) {
      const caller = access.require('ASSET_READ');
      const filter = await compileFilter(db, access, parseFilter(args.filter));
      const from = args.fromOffset == null ? null : parseOffset(args.fromOffset);
      backend.requireAvailable();
      await hub.ready();
      if (from !== null) {
        if (from > hub.cursor && from > (await liveLog.head())) throw badInput('offset is ahead of the message log', { fromOffset: args.fromOffset });
        await liveLog.checkResume(caller.orgId, from, config.REPLAY_WINDOW_S);
      }
      return new LiveStream({ log: liveLog, hub, orgId: caller.orgId, selection: { kind, filter, partitions: null }, fromOffset: from, bufferMax: config.SUBSCRIBER_BUFFER_MAX, onOverflow: overflow(conn), observer });
    },
    async openJobConsumer(access, conn, args) {
      const caller = access.require('ASSET_READ');
      const group = parseGroup(args.group);
      const job = await getJob(db, caller.orgId, args.jobId);
      const filter = await compileFilter(db, access, parseFilter(job.filter));
      const autoCommit = args.autoCommit ?? true;
      // Committing moves the group past messages this consumer's grant filters out of its stream.
      if (autoCommit) await requireJobDevices(db, access, job, '; consume with autoCommit: false');
      backend.requireAvailable();
      return openGroupConsumer({ db, liveLog, hub, log, job, group, filter, autoCommit, bufferMax: config.SUBSCRIBER_BUFFER_MAX, replayWindowS: config.REPLAY_WINDOW_S, onOverflow: overflow(conn), observer });
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
    relayStats: async () => (backend.kind === 'nats' ? (backend as NatsBackend).relay.stats() : null),
    async prune() {
      const n = await liveLog.prune(config.REPLAY_WINDOW_S);
      await queryRows(db, sql`delete from live_group_members where heartbeat_at < now() - interval '1 hour'`);
      return n;
    },
    async close() {
      clearInterval(timer);
      latest.close();
      await backend.close();
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
