import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { sql } from 'drizzle-orm';
import type { IngestBatch } from '../../ingest/types';
import type { Logger } from '../../log';
import { queryRows, type Db, type DbOrTx } from '../../storage/db';
import { commitBehind } from '../../storage/pipelined-transaction';
import { alignToBatches, encodeBatches, type KeyCache } from '../log';
import { decodeMessage, type EncodedPayload } from '../message';
import { splitByDevice } from '../project';
import { createOwnParts, type OwnParts } from './own-parts';
import { BATCH_HEADER, DEVICE_ID_HEADER, encodeWire, MODEL_ID_HEADER, PART_HEADER, subjectOf } from './wire';

/** Advisory-lock key held by the one instance relaying at a time, so that messages keep their commit order. */
export const RELAY_LOCK = 0x7472_6962_6f62; // "tribob"
/** Outbox rows relayed per transaction. */
const RELAY_BATCH = 500;
/** How long one publish may wait for JetStream's acknowledgement. */
const PUBLISH_TIMEOUT_MS = 5_000;
/** How often any instance looks for rows left behind (an instance that stopped before publishing them). */
const RELAY_POLL_MS = 1_000;
/** Age from which a row counts as left behind: its instance would have published it by then. */
const STALE_MS = 5_000;

/** An outbox row: a committed batch's message and what makes its `Nats-Msg-Id`s. */
export interface OutboxRow {
  readonly id: string | number;
  readonly org_id: string;
  readonly channel: string;
  readonly created_ms: number;
  readonly payload: EncodedPayload | string;
}

/**
 * Writes the batches' messages to the outbox inside the ingest transaction (the NATS backend's
 * append), one row each, in one statement for all the batches of a shared (group-commit)
 * transaction. Returns each batch's row, to be published once the transaction committed (null for
 * an empty batch).
 */
export async function appendOutbox(tx: DbOrTx, batches: readonly IngestBatch[], cache: KeyCache): Promise<(OutboxRow | null)[]> {
  // The row is only the copy a relay publishes again after a crash: kept as the text it is sent
  // as (no jsonb parsing, no compression: see drizzle/0011_outbox_payload_text.sql).
  const encoded = await encodeBatches(tx, batches, cache, 'text');
  if (!encoded) return batches.map(() => null);
  const inserted = queryRows<{ id: string | number; created_ms: number }>(
    tx,
    sql`insert into live_outbox (org_id, channel, payload) ${encoded.rows} returning id, (extract(epoch from created_at) * 1000)::float8 as created_ms`,
  );
  // PERF: the COMMIT travels with the insert when the transaction allows it (storage/pipelined-transaction.ts).
  commitBehind(tx);
  const rows = await inserted;
  rows.sort((x, y) => Number(x.id) - Number(y.id));
  return alignToBatches(batches, (k, b) => ({ id: rows[k]!.id, org_id: b.orgId, channel: b.channel, created_ms: Number(rows[k]!.created_ms), payload: encoded.payloads[k]! }));
}

/**
 * Publishes a row's device messages back to back (all sent before the first acknowledgement
 * comes, so that they are consecutive in the stream as far as this connection goes). The message
 * ids depend only on the row, so that publishing it again stores nothing twice.
 */
function publishRow(js: JetStreamClient, prefix: string, r: OutboxRow, own: OwnParts): Promise<PubAck>[] {
  const payload = typeof r.payload === 'string' ? (JSON.parse(r.payload) as EncodedPayload) : r.payload;
  const parts = [...splitByDevice(decodeMessage(0, r.org_id, r.channel, payload)).values()];
  const batchId = `${r.id}-${Math.round(Number(r.created_ms))}`;
  return parts.map((part, i) => {
    const d = (part.points[0] ?? part.attributes[0] ?? part.events[0] ?? part.files[0])!.device;
    const h = headers();
    h.append(DEVICE_ID_HEADER, String(d.deviceId));
    h.append(MODEL_ID_HEADER, String(d.modelId));
    h.append(BATCH_HEADER, batchId);
    h.append(PART_HEADER, `${i}/${parts.length}`);
    const msgID = `${batchId}-${i}`;
    own.remember(msgID, part);
    return js.publish(subjectOf(prefix, part.orgId, part.channel, d), JSON.stringify(encodeWire(part)), { msgID, headers: h, timeout: PUBLISH_TIMEOUT_MS });
  });
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
  /** Publishes a row this instance just committed, and deletes it once JetStream stored it. */
  publishCommitted(row: OutboxRow): void;
  /** Relays every row now (coalesced with a run in flight), and new rows behind them until none waits. */
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
  /** Where the published device messages wait for this instance's hub (see own-parts.ts). */
  readonly own?: OwnParts;
}

/**
 * Moves committed outbox rows to JetStream, on two paths with the same message ids.
 * - At once: the instance that committed a row publishes it after the commit
 *   ({@link OutboxRelay.publishCommitted}) and deletes it once JetStream acknowledged every part.
 * - Later: rows left behind (an instance killed between commit and publish, a publish that
 *   failed, an outage) are relayed by any instance, one at a time (an advisory lock held by its
 *   transaction), in outbox order: the transaction deletes the rows as it reads them and commits
 *   only once JetStream acknowledged every message; a crash before the commit leaves them for the
 *   next run. That runs on {@link OutboxRelay.wake} (after a reconnect, a failed publish, drain)
 *   for every row, and every RELAY_POLL_MS for rows older than STALE_MS.
 * A row published on both paths, or twice after a crash, carries the same `Nats-Msg-Id`s (outbox
 * id, creation time, device index): JetStream's duplicate window stores each message once.
 */
export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const { db, log, prefix } = opts;
  const own = opts.own ?? createOwnParts(0);
  let running: Promise<void> | null = null;
  /** Whether a run was asked for while one ran; `all` when it should take young rows too. */
  let again: { all: boolean } | null = null;
  let closed = false;
  /**
   * Whether rows may wait from before (at start, after a reconnect or a failed publish): new rows
   * then go through the relay too, behind them, until a relay run found the outbox empty, so that
   * the stream keeps commit order across an outage.
   */
  let backlog = true;
  let published = 0;
  let failures = 0;
  /** Rows published at once, whose deletion is pending. */
  let acknowledged: (string | number)[] = [];
  let deleting: Promise<void> | null = null;
  const inFlight = new Set<Promise<void>>();

  async function relayOnce(js: JetStreamClient, all: boolean): Promise<number> {
    let stored = 0;
    const leftBehind = all ? sql`` : sql`where created_at < now() - make_interval(secs => ${STALE_MS / 1000})`;
    const n = await db.transaction(async (tx) => {
      await queryRows(tx, sql`select pg_advisory_xact_lock(${RELAY_LOCK})`);
      // NOTE: deleted at once, in the transaction that publishes: they stay if it does not commit.
      const rows = await queryRows<OutboxRow>(
        tx,
        sql`delete from live_outbox where id in (select id from live_outbox ${leftBehind} order by id limit ${RELAY_BATCH})
            returning id, org_id, channel, payload, (extract(epoch from created_at) * 1000)::float8 as created_ms`,
      );
      if (!rows.length) return 0;
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      const acks = rows.flatMap((r) => publishRow(js, prefix, r, own));
      // NOTE: one failed publish rolls the transaction back; the next run publishes all again (deduplicated).
      for (const a of await Promise.all(acks)) if (!a.duplicate) stored++;
      await opts.afterPublish?.();
      return rows.length;
    });
    published += stored;
    return n;
  }

  async function run(all: boolean): Promise<void> {
    for (;;) {
      const js = opts.jetstream();
      if (!js || closed) return;
      try {
        while ((await relayOnce(js, all)) === RELAY_BATCH && !closed);
      } catch (err) {
        failures++;
        if (!closed) log.warn({ err }, 'live outbox relay failed; retrying');
        return;
      }
      // NOTE: a row committed during the run asked for another run with all (below).
      if (all && !again?.all) backlog = false;
      if (!again || closed) return;
      all = again.all;
      again = null;
    }
  }

  function start(all: boolean): void {
    if (closed) return;
    if (running) {
      again = { all: all || (again?.all ?? false) };
      return;
    }
    running = run(all).finally(() => {
      running = null;
    });
  }

  /** Deletes the rows acknowledged so far, in one statement; what fails stays for the later path. */
  function deleteAcknowledged(): void {
    if (deleting || !acknowledged.length) return;
    const ids = acknowledged;
    acknowledged = [];
    deleting = queryRows(db, sql`delete from live_outbox where id = any(${sql.param(ids.map(String))}::bigint[])`)
      .then(
        () => undefined,
        (err: unknown) => {
          if (!closed) log.warn({ err, rows: ids.length }, 'could not delete relayed outbox rows; the relay publishes them again (deduplicated)');
        },
      )
      .finally(() => {
        deleting = null;
        deleteAcknowledged();
      });
  }

  /** A publish of the committed path failed: the row stays, and the relay takes it and what follows. */
  function relayInstead(err: unknown): void {
    failures++;
    if (!closed) log.warn({ err }, 'publishing a committed outbox row failed; the relay retries it');
    backlog = true;
    start(true);
  }

  function publishCommitted(row: OutboxRow): void {
    const js = opts.jetstream();
    if (!js || closed) return;
    if (backlog) return start(true);
    let acks: Promise<PubAck>[];
    try {
      acks = publishRow(js, prefix, row, own);
    } catch (err) {
      return relayInstead(err);
    }
    const p: Promise<void> = Promise.all(acks).then((done) => {
      for (const a of done) if (!a.duplicate) published++;
      acknowledged.push(row.id);
      deleteAcknowledged();
    }, relayInstead);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }

  const timer = setInterval(() => start(false), RELAY_POLL_MS);
  timer.unref();

  return {
    publishCommitted,
    wake() {
      backlog = true;
      start(true);
    },
    async drain() {
      for (;;) {
        await Promise.all(inFlight);
        await deleting;
        start(true);
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
      await Promise.all(inFlight);
      await deleting;
      await running;
    },
  };
}
