import type { Logger } from '../log';
import type { PubSub } from '../pubsub/types';
import type { Db } from '../storage/db';
import { getHeadOffset, readLog, readLogWatched } from './log';
import type { LogMessage } from './message';
import { createCatchUpWaiters, createSubscriberIndex, type HubSubscriber } from './dispatch';

export type { HubSubscriber } from './dispatch';

/** Counters of a hub. */
export interface HubStats {
  readonly subscribers: number;
  readonly cursor: number;
  readonly reads: number;
  readonly dispatched: number;
}

/**
 * The per-instance reader of the log. Every wake-up (from any instance) triggers one read of
 * the new rows, shared by all local subscribers, so the database load does not grow with the
 * number of subscribers. Everything up to {@link LiveHub.cursor} has been dispatched, and only
 * rows after it will be, which is what lets a resuming subscriber switch from replay to live
 * without a gap.
 */
export interface LiveHub {
  /** Highest offset dispatched. */
  readonly cursor: number;
  /** Resolves once the cursor is initialised at the log's head. */
  ready(): Promise<void>;
  attach(s: HubSubscriber): void;
  detach(s: HubSubscriber): void;
  /**
   * Receives every message of an organisation, in offset order, before the cursor passes it (an
   * instance-wide reader such as the latest-values cache; not a subscriber). Returns the removal.
   */
  tap(orgId: string, receive: (m: LogMessage) => void): () => void;
  /**
   * Resolves true once everything up to `offset` has been dispatched (reading now if needed), or
   * false after `timeoutMs` or when the hub closes.
   */
  catchUp(offset: number, timeoutMs: number): Promise<boolean>;
  /**
   * Calls `fn` when retention removed messages after the hub's position before the hub read them
   * (the hub was stalled for longer than the replay window): what this instance holds from the log
   * may miss them. Subscribers are told through {@link HubSubscriber.lost}. Returns the removal.
   */
  onLost(fn: () => void): () => void;
  /** Reads now, up to `upTo` when given (coalesced with a read in flight). */
  wake(upTo?: number): void;
  stats(): HubStats;
  close(): Promise<void>;
}

/** Rows read per query. */
const READ_PAGE = 500;

/** Options of {@link createLiveHub}. */
export interface LiveHubOptions {
  readonly db: Db;
  readonly pubsub: PubSub;
  readonly log: Logger;
  /** Fallback poll period in case a wake-up is lost. Default 1000 ms. */
  readonly pollMs?: number;
}

/** Starts a hub: reads the head offset, listens for wake-ups, polls as a fallback. */
export function createLiveHub(opts: LiveHubOptions): LiveHub {
  const { db, pubsub, log } = opts;
  const index = createSubscriberIndex();
  const waiters = createCatchUpWaiters();
  const lostListeners = new Set<() => void>();
  let cursor = 0;
  /** The highest removal already reported by {@link lose} (reported once, not on every page below it). */
  let lostThrough = 0;
  let reading = false;
  /**
   * The highest position asked for and not yet read: an announced offset (committed, so every
   * offset below it is decided: appends commit in offset order), or Infinity when a read was
   * asked without one (the poll, a catch-up); 0 when none.
   */
  let wanted = 0;
  let closed = false;
  let reads = 0;
  const readyP = getHeadOffset(db).then((h) => {
    cursor = h;
  });
  readyP.catch((err: unknown) => log.error({ err }, 'live hub could not read the log head'));

  /**
   * Reads the log up to `upTo` (everything committed, when absent). A read in flight takes the
   * request over; an announcement the cursor already passed asks nothing.
   * PERF: while no subscriber or tap watches any organisation, an announced position is taken
   * without reading the log: there is nothing to dispatch up to it.
   */
  async function pump(upTo = Infinity): Promise<void> {
    if (closed || upTo <= cursor) return;
    wanted = Math.max(wanted, upTo);
    if (reading) return;
    reading = true;
    try {
      await readyP;
      while (wanted > cursor && !closed) {
        const goal = wanted;
        wanted = 0;
        if (goal !== Infinity && !index.watchedOrgs().length) {
          cursor = goal;
          waiters.settle(cursor);
          continue;
        }
        for (;;) {
          const { items: rows, prunedThrough } = await readLogWatched(db, cursor, READ_PAGE, index.watchedOrgs());
          reads++;
          if (prunedThrough > Math.max(cursor, lostThrough)) lose(prunedThrough);
          for (const r of rows) {
            let m = r.message;
            // NOTE: the organisation got its first subscriber while the page was being read.
            if (!m && index.watched(r.orgId)) {
              const [fetched] = (await readLog(db, r.offset - 1, 1)).items;
              m = fetched?.offset === r.offset ? fetched : null;
            }
            cursor = r.offset;
            if (m) index.dispatch(m);
          }
          waiters.settle(cursor);
          if (rows.length < READ_PAGE || closed) break;
        }
      }
    } catch (err) {
      if (!closed) log.warn({ err }, 'live hub read failed');
    } finally {
      reading = false;
    }
  }

  /** Tells everyone who holds what the log dispatched that messages after the cursor are gone. */
  function lose(prunedThrough: number): void {
    lostThrough = prunedThrough;
    log.warn({ cursor, prunedThrough }, 'live hub fell behind retention: messages were removed before it read them');
    for (const fn of [...lostListeners]) fn();
    for (const s of index.all()) s.lost?.();
  }

  const unsubscribe = pubsub.subscribe((offset) => void pump(offset));
  const timer = setInterval(() => void pump(), opts.pollMs ?? 1_000);
  timer.unref();

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
      const reached = waiters.wait(offset, timeoutMs);
      void pump();
      return reached;
    },
    onLost(fn) {
      lostListeners.add(fn);
      return () => lostListeners.delete(fn);
    },
    wake: (upTo) => void pump(upTo),
    stats: () => ({ subscribers: index.subscribers, cursor, reads, dispatched: index.dispatched }),
    async close() {
      closed = true;
      clearInterval(timer);
      unsubscribe();
      index.clear();
      lostListeners.clear();
      waiters.close();
    },
  };
}
