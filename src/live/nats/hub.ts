import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../log';
import { createCatchUpWaiters, createSubscriberIndex } from '../dispatch';
import type { LiveHub } from '../hub';
import type { LogMessage } from '../message';
import { createBatchAssembler, headersOf, type StreamHeaders } from './batches';
import type { OwnParts } from './own-parts';
import { createStallCheck } from './stall-check';
import { decodeWire, orgOfSubject } from './wire';

/** What a NATS hub reads from: the stream and where it stood when the hub started. */
export interface NatsHubSource {
  readonly js: JetStreamClient;
  readonly stream: string;
  /** The stream's last sequence when the hub started: the hub dispatches what follows. */
  readonly lastSeq: number;
  /** The stream's last sequence now (for the watchdog). */
  head(): Promise<number>;
}

/** Longest wait for the next device message of a batch before the parts so far are dispatched. */
const BATCH_GAP_MS = 20;
/** How often the hub checks that its consumer moves while the stream grows. */
const WATCHDOG_MS = 2_000;

/** A JetStream message of the live stream as the runtime reads it; null when it is not one. */
export function decodeJsMsg(m: JsMsg, h: StreamHeaders = headersOf(m)): LogMessage | null {
  if (!Number.isSafeInteger(h.deviceId) || !Number.isSafeInteger(h.modelId)) return null;
  try {
    return decodeWire(m.seq, m.json(), h.deviceId, h.modelId);
  } catch {
    return null;
  }
}

/** The hub of the NATS backend, with a way to end every subscription during an outage. */
export interface NatsHub extends LiveHub {
  /** Ends every attached subscription with `reason` (they resume from their last offset). */
  dropAll(reason: string): void;
  /** Replaces the consumer (after a reconnect), continuing after the cursor. */
  restart(): void;
}

/**
 * The per-instance reader of the JetStream stream: one ordered consumer over the whole stream,
 * from the position the hub started at, decoding only messages of organisations with a local
 * subscriber (the organisation is the subject's first token after the prefix) and dispatching
 * them to the local subscribers, a batch's device messages joined again into one. Messages this
 * instance published come from `own` instead of being decoded again. Offsets are stream sequences.
 */
export function createNatsHub(source: Promise<NatsHubSource>, prefix: string, log: Logger, own: OwnParts): NatsHub {
  const index = createSubscriberIndex();
  const waiters = createCatchUpWaiters();
  const lostListeners = new Set<() => void>();
  let cursor = 0;
  let reads = 0;
  let closed = false;
  let messages: ConsumerMessages | null = null;
  let gapTimer: NodeJS.Timeout | null = null;

  let watchdog: NodeJS.Timeout | null = null;
  const readyP = source.then((s) => {
    cursor = s.lastSeq;
    void follow(s);
    // NOTE: a consumer can stall across a server restart without an error; messages the stream
    // held a whole period ago and the cursor has not reached mean it did, and it is replaced.
    const check = createStallCheck(cursor);
    watchdog = setInterval(() => {
      if (closed || !check.still(cursor)) return;
      s.head().then(
        (h) => {
          if (closed || !check.stalled(cursor, h)) return;
          log.warn({ cursor, head: h }, 'live hub consumer stalled; replacing it');
          restart();
        },
        () => undefined,
      );
    }, WATCHDOG_MS);
    watchdog.unref();
  });
  readyP.catch((err: unknown) => log.error({ err }, 'live hub could not start on JetStream'));

  function restart(): void {
    void messages?.close().catch(() => undefined);
  }

  async function follow(s: NatsHubSource): Promise<void> {
    while (!closed) {
      // NOTE: parts held back by a replaced consumer come again from the new one (it starts after the cursor).
      if (gapTimer) clearTimeout(gapTimer);
      gapTimer = null;
      try {
        const consumer = await s.js.consumers.get(s.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: cursor + 1 });
        messages = await consumer.consume({ max_messages: 1_000 });
        const assembler = createBatchAssembler((msg, seq) => {
          if (seq <= cursor) return;
          if (msg) index.dispatch(msg);
          cursor = seq;
          waiters.settle(cursor);
        });
        for await (const m of messages) {
          reads++;
          const org = orgOfSubject(prefix, m.subject);
          const h = headersOf(m);
          const part = h.part;
          const mine = h.msgId ? own.take(h.msgId) : undefined;
          assembler.push(m.seq, part, org !== null && index.watched(org) ? (mine ?? decodeJsMsg(m, h)) : null);
          // NOTE: the relay publishes a batch's parts back to back; one whose next part is late
          // (a relay cut in the middle) is not held back for longer than BATCH_GAP_MS.
          // PERF: one timer, restarted for each part, rather than one per part.
          if (part.index < part.count - 1) {
            if (gapTimer) gapTimer.refresh();
            else gapTimer = setTimeout(() => assembler.flush(), BATCH_GAP_MS);
          } else if (gapTimer) {
            clearTimeout(gapTimer);
            gapTimer = null;
          }
          if (closed) break;
        }
      } catch (err) {
        if (!closed) log.warn({ err }, 'live hub lost its JetStream consumer; restarting it');
      }
      if (!closed) await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    get cursor() {
      return cursor;
    },
    ready: () => readyP,
    attach: (s) => index.attach(s),
    detach: (s) => index.detach(s),
    tap: (orgId, receive) => index.tap(orgId, receive),
    async catchUp(offset, timeoutMs) {
      await readyP;
      if (closed) return false;
      if (offset <= cursor) return true;
      return waiters.wait(offset, timeoutMs);
    },
    onLost(fn) {
      lostListeners.add(fn);
      return () => lostListeners.delete(fn);
    },
    dropAll(reason) {
      for (const fn of [...lostListeners]) fn();
      for (const s of index.all()) s.lost?.(reason);
    },
    restart,
    // NOTE: JetStream pushes new messages to the consumer; there is nothing to poll.
    wake() {},
    stats: () => ({ subscribers: index.subscribers, cursor, reads, dispatched: index.dispatched }),
    async close() {
      closed = true;
      if (watchdog) clearInterval(watchdog);
      if (gapTimer) clearTimeout(gapTimer);
      await messages?.close().catch(() => undefined);
      index.clear();
      lostListeners.clear();
      waiters.close();
    },
  };
}
