import type { LogMessage } from './message';
import { devicesOf, splitByDevice } from './project';

/** A local receiver of log messages (one live subscription). */
export interface HubSubscriber {
  readonly orgId: string;
  /** The devices it may select, for the dispatch index; null when any device may match. */
  readonly deviceIds: ReadonlySet<number> | null;
  /** Receives a message of its organisation; must not block (it only queues). */
  deliver(m: LogMessage): void;
  /**
   * Told that it cannot go on: messages after the hub's position were removed by retention before
   * it read them, or the stream backend is unreachable (`reason` says which).
   */
  lost?(reason?: string): void;
}

interface OrgIndex {
  readonly unbound: Set<HubSubscriber>;
  readonly byDevice: Map<number, Set<HubSubscriber>>;
  size: number;
}

/**
 * The subscribers and taps of one hub, indexed by organisation and device, and the dispatch of a
 * message to them. Shared by every stream backend's hub.
 */
export interface SubscriberIndex {
  readonly subscribers: number;
  readonly dispatched: number;
  /** Whether a subscriber or tap of `orgId` is attached (only then is its message decoded). */
  watched(orgId: string): boolean;
  /** Organisations with a subscriber or tap. */
  watchedOrgs(): string[];
  attach(s: HubSubscriber): void;
  detach(s: HubSubscriber): void;
  tap(orgId: string, receive: (m: LogMessage) => void): () => void;
  dispatch(m: LogMessage): void;
  /** Every attached subscriber. */
  all(): Set<HubSubscriber>;
  clear(): void;
}

/** A fresh {@link SubscriberIndex}. */
export function createSubscriberIndex(): SubscriberIndex {
  const orgs = new Map<string, OrgIndex>();
  const taps = new Map<string, Set<(m: LogMessage) => void>>();
  let subscribers = 0;
  let dispatched = 0;
  return {
    get subscribers() {
      return subscribers;
    },
    get dispatched() {
      return dispatched;
    },
    watched: (orgId) => orgs.has(orgId) || taps.has(orgId),
    watchedOrgs: () => [...new Set([...orgs.keys(), ...taps.keys()])],
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
    dispatch(m) {
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
    },
    all() {
      const out = new Set<HubSubscriber>();
      for (const idx of orgs.values()) {
        for (const s of idx.unbound) out.add(s);
        for (const set of idx.byDevice.values()) for (const s of set) out.add(s);
      }
      return out;
    },
    clear() {
      orgs.clear();
      taps.clear();
    },
  };
}

/** Callers of `catchUp` waiting for a hub's cursor to reach their offset. */
export interface CatchUpWaiters {
  /** Resolves true once `settle` saw the cursor at `offset`, false after `timeoutMs` or `close`. */
  wait(offset: number, timeoutMs: number): Promise<boolean>;
  settle(cursor: number): void;
  close(): void;
}

/** A fresh {@link CatchUpWaiters}. */
export function createCatchUpWaiters(): CatchUpWaiters {
  let waiters: { offset: number; done(reached: boolean): void }[] = [];
  return {
    wait(offset, timeoutMs) {
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
      });
    },
    settle(cursor) {
      if (!waiters.length) return;
      const still: typeof waiters = [];
      for (const w of waiters) if (w.offset <= cursor) w.done(true);
      else still.push(w);
      waiters = still;
    },
    close() {
      for (const w of waiters) w.done(false);
      waiters = [];
    },
  };
}
