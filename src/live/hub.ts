import type { Logger } from '../log';
import type { PubSub } from '../pubsub/types';
import type { Db } from '../storage/db';
import { getHeadOffset, readLog, readLogWatched } from './log';
import type { LogMessage } from './message';
import { devicesOf, splitByDevice } from './project';

/** A local receiver of log messages (one live subscription). */
export interface HubSubscriber {
  readonly orgId: string;
  /** The devices it may select, for the dispatch index; null when any device may match. */
  readonly deviceIds: ReadonlySet<number> | null;
  /** Receives a message of its organisation; must not block (it only queues). */
  deliver(m: LogMessage): void;
  /** Told that messages after the hub's position were removed by retention before it read them (see {@link LiveHub.onLost}). */
  lost?(): void;
}

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
  /** Reads now (coalesced with a read in flight). */
  wake(): void;
  stats(): HubStats;
  close(): Promise<void>;
}

interface OrgIndex {
  readonly unbound: Set<HubSubscriber>;
  readonly byDevice: Map<number, Set<HubSubscriber>>;
  size: number;
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
  const orgs = new Map<string, OrgIndex>();
  const taps = new Map<string, Set<(m: LogMessage) => void>>();
  const lostListeners = new Set<() => void>();
  /** Callers of catchUp waiting for the cursor to reach their offset. */
  let waiters: { offset: number; done(reached: boolean): void }[] = [];
  let cursor = 0;
  /** The highest removal already reported by {@link lose} (reported once, not on every page below it). */
  let lostThrough = 0;
  let reading = false;
  let dirty = false;
  let closed = false;
  let subscribers = 0;
  let reads = 0;
  let dispatched = 0;
  const readyP = getHeadOffset(db).then((h) => {
    cursor = h;
  });
  readyP.catch((err: unknown) => log.error({ err }, 'live hub could not read the log head'));

  const watched = (orgId: string) => orgs.has(orgId) || taps.has(orgId);

  function dispatch(m: LogMessage): void {
    for (const receive of taps.get(m.orgId) ?? []) receive(m);
    const idx = orgs.get(m.orgId);
    if (!idx) return;
    const targets = new Set(idx.unbound);
    if (idx.byDevice.size) for (const d of devicesOf(m)) for (const s of idx.byDevice.get(d) ?? []) targets.add(s);
    let parts: Map<number, LogMessage> | null = null;
    for (const s of targets) {
      dispatched++;
      if (s.deviceIds?.size === 1) {
        // PERF: a one-device subscriber (the common case) gets only its device's records.
        parts ??= splitByDevice(m);
        const [d] = s.deviceIds;
        const part = parts.get(d!);
        if (part) s.deliver(part);
      } else s.deliver(m);
    }
  }

  async function pump(): Promise<void> {
    if (closed) return;
    if (reading) {
      dirty = true;
      return;
    }
    reading = true;
    try {
      await readyP;
      do {
        dirty = false;
        for (;;) {
          const { items: rows, prunedThrough } = await readLogWatched(db, cursor, READ_PAGE, [...new Set([...orgs.keys(), ...taps.keys()])]);
          reads++;
          if (prunedThrough > Math.max(cursor, lostThrough)) lose(prunedThrough);
          for (const r of rows) {
            let m = r.message;
            // NOTE: the organisation got its first subscriber while the page was being read.
            if (!m && watched(r.orgId)) {
              const [fetched] = (await readLog(db, r.offset - 1, 1)).items;
              m = fetched?.offset === r.offset ? fetched : null;
            }
            cursor = r.offset;
            if (m) dispatch(m);
          }
          settle();
          if (rows.length < READ_PAGE || closed) break;
        }
      } while (dirty && !closed);
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
    for (const idx of [...orgs.values()]) {
      const all = new Set(idx.unbound);
      for (const set of idx.byDevice.values()) for (const s of set) all.add(s);
      for (const s of all) s.lost?.();
    }
  }

  /** Resolves the waiters whose offset the cursor has reached. */
  function settle(): void {
    if (!waiters.length) return;
    const still: typeof waiters = [];
    for (const w of waiters) if (w.offset <= cursor) w.done(true);
    else still.push(w);
    waiters = still;
  }

  const unsubscribe = pubsub.subscribe(() => void pump());
  const timer = setInterval(() => void pump(), opts.pollMs ?? 1_000);
  timer.unref();

  return {
    get cursor() {
      return cursor;
    },
    ready: () => readyP,
    attach(s) {
      let idx = orgs.get(s.orgId);
      if (!idx) orgs.set(s.orgId, (idx = { unbound: new Set(), byDevice: new Map(), size: 0 }));
      if (s.deviceIds) {
        for (const d of s.deviceIds) {
          let set = idx.byDevice.get(d);
          if (!set) idx.byDevice.set(d, (set = new Set()));
          set.add(s);
        }
      } else idx.unbound.add(s);
      idx.size++;
      subscribers++;
    },
    detach(s) {
      const idx = orgs.get(s.orgId);
      if (!idx) return;
      let found = idx.unbound.delete(s);
      for (const d of s.deviceIds ?? []) {
        const set = idx.byDevice.get(d);
        if (set?.delete(s)) found = true;
        if (set && !set.size) idx.byDevice.delete(d);
      }
      if (!found) return;
      idx.size--;
      subscribers--;
      if (!idx.size) orgs.delete(s.orgId);
    },
    tap(orgId, receive) {
      let set = taps.get(orgId);
      if (!set) taps.set(orgId, (set = new Set()));
      set.add(receive);
      return () => {
        set.delete(receive);
        if (!set.size && taps.get(orgId) === set) taps.delete(orgId);
      };
    },
    async catchUp(offset, timeoutMs) {
      await readyP;
      if (closed) return false;
      if (offset <= cursor) return true;
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          resolve(false);
        }, timeoutMs);
        const waiter = {
          offset,
          done(reached: boolean) {
            clearTimeout(timer);
            resolve(reached);
          },
        };
        waiters.push(waiter);
        void pump();
      });
    },
    onLost(fn) {
      lostListeners.add(fn);
      return () => lostListeners.delete(fn);
    },
    wake: () => void pump(),
    stats: () => ({ subscribers, cursor, reads, dispatched }),
    async close() {
      closed = true;
      clearInterval(timer);
      unsubscribe();
      orgs.clear();
      taps.clear();
      lostListeners.clear();
      for (const w of waiters) w.done(false);
      waiters = [];
    },
  };
}
