import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../../config';
import type { Logger } from '../../log';
import type { AppDeps } from '../../server/deps';
import type { StreamBackend } from '../backend';
import { createKeyCache } from '../log';
import { createNatsHub, type NatsHubSource } from './hub';
import { createNatsLog, natsUnavailable } from './log';
import { createOwnParts, type OwnParts } from './own-parts';
import { appendOutbox, createOutboxRelay, type OutboxRelay, type OutboxRow } from './outbox';

/** What a subscription is told when NATS goes away; it resumes from its last offset once NATS is back. */
export const NATS_OUTAGE_REASON = 'Live stream backend unavailable; resume from your last offset';

/** Pause between attempts to reach NATS at start. */
const FIRST_CONNECT_RETRY_MS = 1_000;

/** The NATS backend, with its relay (for metrics and tests). */
export interface NatsBackend extends StreamBackend {
  readonly kind: 'nats';
  readonly relay: OutboxRelay;
  /** Messages this instance published that its hub has not read back yet. */
  readonly own: OwnParts;
}

/** The stream's configuration: the live subjects, kept for the replay window, deduplicated. */
export function streamConfigOf(config: Pick<Config, 'NATS_STREAM' | 'NATS_SUBJECT_PREFIX' | 'REPLAY_WINDOW_S' | 'NATS_DUPLICATE_WINDOW_S'>): Partial<StreamConfig> & { name: string } {
  return {
    name: config.NATS_STREAM,
    subjects: [`${config.NATS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(config.REPLAY_WINDOW_S * 1_000),
    duplicate_window: nanos(Math.min(config.NATS_DUPLICATE_WINDOW_S, config.REPLAY_WINDOW_S) * 1_000),
  };
}

/** Creates the stream, or brings an existing one to the configuration. */
async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<number> {
  try {
    const info = await jsm.streams.info(cfg.name);
    // NOTE: storage, retention, replicas and placement of an existing stream are the operator's.
    const { subjects, max_age, duplicate_window, discard } = cfg;
    const updated = await jsm.streams.update(cfg.name, { ...info.config, subjects, max_age, duplicate_window, discard } as StreamConfig);
    return updated.state.last_seq;
  } catch (err) {
    if ((err as { name?: string }).name !== 'StreamNotFoundError' && !/not found/i.test(String((err as Error).message))) throw err;
    return (await jsm.streams.add(cfg)).state.last_seq;
  }
}

/**
 * The JetStream backend (NATS_URL): ingest writes each batch to the outbox table in its
 * transaction; once it committed, the instance publishes the row to the stream (and a relay does
 * for rows left behind), one message per device on
 * `<prefix>.<org>.<channel>.<productKey>.<deviceKey>`; subscriptions read the stream. The
 * connection is made in the background and retried forever: ingest goes on during an outage (the
 * outbox grows and drains once NATS is back), live operations answer SERVICE_UNAVAILABLE.
 */
export function createNatsBackend(deps: AppDeps, url: string): NatsBackend {
  const { config, db } = deps;
  const log = deps.log.child({ component: 'nats' });
  const prefix = config.NATS_SUBJECT_PREFIX;
  let nc: NatsConnection | null = null;
  let js: JetStreamClient | null = null;
  let jsm: JetStreamManager | null = null;
  let connected = false;
  let closed = false;

  const own = createOwnParts();
  const relay = createOutboxRelay({ db, log: log.child({ component: 'outbox-relay' }), prefix, jetstream: () => (connected ? js : null), own });

  const started: Promise<NatsHubSource> = (async () => {
    // NOTE: the first connection is retried here (not with waitOnFirstConnect) so that close() ends the attempts.
    for (let attempt = 0; !nc; attempt++) {
      try {
        nc = await connect({
          servers: url.split(','),
          name: 'tributary',
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          // NOTE: no stack captured per publish (each is a request); errors still say what failed.
          noAsyncTraces: true,
          // PERF: a request's device messages leave in one socket write (the client otherwise
          // writes every 32 KiB, each write waking the server); `pendingLimit` is not in the typings.
          ...{ pendingLimit: 1 << 20 },
          ...(config.NATS_USER ? { user: config.NATS_USER, pass: config.NATS_PASSWORD ?? '' } : {}),
        });
      } catch (err) {
        if (closed) throw err;
        if (attempt === 0) log.warn({ err }, 'NATS unreachable: retrying; ingest goes on into the outbox');
        await new Promise((r) => setTimeout(r, FIRST_CONNECT_RETRY_MS));
      }
      if (closed) break;
    }
    if (closed || !nc) {
      await nc?.close();
      throw new Error('closed');
    }
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    let lastSeq = -1;
    // NOTE: JetStream can answer "unavailable" for a moment after a server starts.
    for (let attempt = 0; lastSeq < 0; attempt++) {
      try {
        lastSeq = await ensureStream(jsm, streamConfigOf(config));
      } catch (err) {
        if (closed) throw err;
        if (attempt === 0) log.warn({ err, stream: config.NATS_STREAM }, 'could not create or update the JetStream stream; retrying');
        await new Promise((r) => setTimeout(r, FIRST_CONNECT_RETRY_MS));
      }
    }
    connected = true;
    log.info({ stream: config.NATS_STREAM, lastSeq }, 'live stream on NATS JetStream');
    void watchStatus(nc);
    relay.wake();
    const m = jsm;
    return { js, stream: config.NATS_STREAM, lastSeq, head: async () => (await m.streams.info(config.NATS_STREAM)).state.last_seq };
  })();
  started.catch((err: unknown) => {
    if (!closed) log.error({ err }, 'could not start the NATS stream backend');
  });

  async function watchStatus(c: NatsConnection): Promise<void> {
    for await (const s of c.status()) {
      if (s.type === 'disconnect') {
        if (!connected) continue;
        connected = false;
        log.warn({ server: s.server }, 'NATS disconnected: live subscriptions end, ingest goes on into the outbox');
        hub.dropAll(NATS_OUTAGE_REASON);
      } else if (s.type === 'reconnect') {
        connected = true;
        log.info({ server: s.server }, 'NATS reconnected: relaying the outbox');
        hub.restart();
        relay.wake();
      }
    }
  }

  const hub = createNatsHub(started, prefix, log.child({ component: 'live-hub' }), own);
  const cache = createKeyCache();
  /** Outbox rows of batches whose transaction has not committed yet. */
  const appended = new WeakMap<object, OutboxRow>();

  return {
    kind: 'nats',
    hub,
    relay,
    own,
    log: createNatsLog(() => (connected && js && jsm ? { js, jsm, stream: config.NATS_STREAM } : null), prefix),
    async append(tx, batches) {
      const rows = await appendOutbox(tx, batches, cache);
      rows.forEach((row, i) => row && appended.set(batches[i]!, row));
    },
    committed(batch) {
      const row = appended.get(batch);
      if (!row) return;
      appended.delete(batch);
      relay.publishCommitted(row);
    },
    requireAvailable() {
      if (!connected) throw natsUnavailable();
    },
    status: () => ({ backend: 'nats', available: connected }),
    async close() {
      closed = true;
      await relay.close();
      await hub.close();
      const c = nc as NatsConnection | null;
      if (c) await c.close().catch(() => undefined);
    },
  };
}
