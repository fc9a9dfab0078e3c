import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { sql } from 'drizzle-orm';
import type { IngestBatch } from '../../ingest/types';
import type { Logger } from '../../log';
import { queryRows, type Db, type DbOrTx } from '../../storage/db';
import { fillKeys, type KeyCache } from '../log';
import { decodeMessage, encodeBatch, isEmptyBatch, type EncodedPayload } from '../message';
import { splitByDevice } from '../project';
import { BATCH_HEADER, DEVICE_ID_HEADER, encodeWire, MODEL_ID_HEADER, PART_HEADER, subjectOf } from './wire';

/** Advisory-lock key held by the one instance relaying at a time, so that messages keep their commit order. */
export const RELAY_LOCK = 0x7472_6962_6f62; // "tribob"
/** Outbox rows relayed per transaction. */
const RELAY_BATCH = 500;
/** How long one publish may wait for JetStream's acknowledgement. */
const PUBLISH_TIMEOUT_MS = 5_000;
/** Fallback period: rows of an instance that stopped before relaying them, or after an outage. */
const RELAY_POLL_MS = 1_000;

/**
 * Writes a batch's message to the outbox inside the ingest transaction (the NATS backend's
 * append). Returns false for an empty batch.
 */
export async function appendOutbox(tx: DbOrTx, batch: IngestBatch, cache: KeyCache): Promise<boolean> {
  if (isEmptyBatch(batch)) return false;
  await fillKeys(tx, batch, cache);
  const payload = encodeBatch(batch, cache.devices, cache.features);
  await queryRows(tx, sql`insert into live_outbox (org_id, channel, payload) values (${batch.orgId}, ${batch.channel}, ${JSON.stringify(payload)}::jsonb)`);
  return true;
}

/** Counters and the backlog of a relay. */
export interface RelayStats {
  /** Outbox rows committed and not yet relayed (all instances). */
  readonly pending: number;
  /** Age of the oldest of them, in seconds (0 when none). */
  readonly lagSeconds: number;
  /** Messages this instance published and JetStream stored (duplicates not counted). */
  readonly published: number;
  /** Relay transactions that failed (NATS or the database unreachable); each is retried. */
  readonly failures: number;
}

/** The relay of one instance. */
export interface OutboxRelay {
  /** Relays now (coalesced with a run in flight). */
  wake(): void;
  /** Relays until the outbox is empty; for tests and shutdown. */
  drain(): Promise<void>;
  stats(): Promise<RelayStats>;
  close(): Promise<void>;
}

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  readonly db: Db;
  readonly log: Logger;
  readonly prefix: string;
  /** The JetStream client while NATS is connected; null during an outage. */
  readonly jetstream: () => JetStreamClient | null;
  /** Runs between JetStream's acknowledgements and the deletion of the rows (tests use it to fail there). */
  readonly afterPublish?: () => Promise<void>;
}

interface OutboxRow {
  readonly id: string | number;
  readonly org_id: string;
  readonly channel: string;
  readonly created_ms: number;
  readonly payload: EncodedPayload | string;
}

/**
 * Moves committed outbox rows to JetStream. One instance relays at a time (an advisory lock held
 * by its transaction), in outbox order; the transaction deletes the rows as it reads them and
 * commits only once JetStream acknowledged every message. A crash or an outage before the commit
 * leaves the rows for the next run (of any instance), which publishes them again under the same `Nats-Msg-Id`
 * (outbox id, creation time, device index): JetStream's duplicate window stores each once.
 */
export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const { db, log, prefix } = opts;
  let running: Promise<void> | null = null;
  let dirty = false;
  let closed = false;
  let published = 0;
  let failures = 0;

  async function relayOnce(js: JetStreamClient): Promise<number> {
    let stored = 0;
    const n = await db.transaction(async (tx) => {
      await queryRows(tx, sql`select pg_advisory_xact_lock(${RELAY_LOCK})`);
      // NOTE: deleted at once, in the transaction that publishes: they stay if it does not commit.
      const rows = await queryRows<OutboxRow>(
        tx,
        sql`delete from live_outbox where id in (select id from live_outbox order by id limit ${RELAY_BATCH})
            returning id, org_id, channel, payload, (extract(epoch from created_at) * 1000)::float8 as created_ms`,
      );
      if (!rows.length) return 0;
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      const acks: Promise<PubAck>[] = [];
      for (const r of rows) {
        const payload = typeof r.payload === 'string' ? (JSON.parse(r.payload) as EncodedPayload) : r.payload;
        const parts = [...splitByDevice(decodeMessage(0, r.org_id, r.channel, payload)).values()];
        const batchId = `${r.id}-${Math.round(Number(r.created_ms))}`;
        parts.forEach((part, i) => {
          const d = (part.points[0] ?? part.attributes[0] ?? part.events[0] ?? part.files[0])!.device;
          const h = headers();
          h.set(DEVICE_ID_HEADER, String(d.deviceId));
          h.set(MODEL_ID_HEADER, String(d.modelId));
          h.set(BATCH_HEADER, batchId);
          h.set(PART_HEADER, `${i}/${parts.length}`);
          acks.push(js.publish(subjectOf(prefix, part.orgId, part.channel, d), JSON.stringify(encodeWire(part)), { msgID: `${batchId}-${i}`, headers: h, timeout: PUBLISH_TIMEOUT_MS }));
        });
      }
      // NOTE: one failed publish rolls the transaction back; the next run publishes all again (deduplicated).
      for (const a of await Promise.all(acks)) if (!a.duplicate) stored++;
      await opts.afterPublish?.();
      return rows.length;
    });
    published += stored;
    return n;
  }

  async function run(): Promise<void> {
    do {
      dirty = false;
      const js = opts.jetstream();
      if (!js || closed) return;
      try {
        while ((await relayOnce(js)) === RELAY_BATCH && !closed);
      } catch (err) {
        failures++;
        if (!closed) log.warn({ err }, 'live outbox relay failed; retrying');
        return;
      }
    } while (dirty && !closed);
  }

  function wake(): void {
    if (closed) return;
    if (running) {
      dirty = true;
      return;
    }
    running = run().finally(() => {
      running = null;
    });
  }

  const timer = setInterval(wake, RELAY_POLL_MS);
  timer.unref();

  return {
    wake,
    async drain() {
      for (;;) {
        wake();
        await running;
        const [row] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from live_outbox`);
        if (!Number(row?.n) || closed) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stats() {
      const [row] = await queryRows<{ n: number; age: number }>(db, sql`select count(*)::int as n, coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age from live_outbox`);
      return { pending: Number(row?.n ?? 0), lagSeconds: Math.max(0, Number(row?.age ?? 0)), published, failures };
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
