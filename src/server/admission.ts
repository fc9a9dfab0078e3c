/*
 * Admission control: a bounded amount of work in flight per instance, shared fairly between
 * organisations, and a bounded queue in front of it. What does not fit within the queue's wait is
 * refused (429 with Retry-After) instead of piling up in memory: under any offered load the
 * instance holds at most `maxRequests` requests and `maxBytes` of bodies, plus `queueMax` waiting
 * requests whose bodies are still unread (left in the socket, so the kernel pushes back on the
 * sender).
 *
 * Fair share: while several keys (organisations) have work in flight or waiting, each may hold at
 * most `maxRequests / activeKeys` requests and `maxBytes / activeKeys` of weight (beyond its first
 * request), and may queue at most `queueMax / activeKeys`; a key alone may use everything. Freed
 * slots go round-robin over the keys that wait. The weight is body bytes for HTTP requests and
 * values for ingest.
 */

/** Limits of one {@link AdmissionController}. */
export interface AdmissionLimits {
  /** Requests in flight at once. */
  readonly maxRequests: number;
  /** Sum of the weights (body bytes) in flight at once; one request is always admitted when nothing else runs. */
  readonly maxBytes: number;
  /** Requests waiting at once. */
  readonly queueMax: number;
  /** Longest wait in the queue, in ms. */
  readonly queueTimeoutMs: number;
  /** Requests in flight at once per key, whatever its fair share; default: no cap beyond the share. */
  readonly maxRequestsPerKey?: number;
}

/** Counters of an admission controller, for metrics. */
export interface AdmissionStats {
  /** Requests in flight now. */
  readonly inflightRequests: number;
  /** Body bytes in flight now. */
  readonly inflightBytes: number;
  /** Requests waiting now. */
  readonly queued: number;
  /** Keys (organisations) with work in flight or waiting. */
  readonly activeKeys: number;
  /** Requests admitted since start. */
  readonly admittedTotal: number;
  /** Requests refused since start (queue full or wait too long). */
  readonly rejectedTotal: number;
}

/** A slot held by an admitted request; release it once the response is done (idempotent). */
export interface Permit {
  release(): void;
}

interface Waiter {
  readonly key: string;
  readonly bytes: number;
  readonly resolve: (p: Permit | null) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Admission controller of one instance. */
export interface AdmissionController {
  /**
   * Admits a request of `bytes` for `key`: a permit at once or after a wait, or null when it is
   * refused (queue full, its fair share of the queue used, or no slot within the wait).
   */
  acquire(key: string, bytes: number): Promise<Permit | null>;
  /** Current counters. */
  stats(): AdmissionStats;
}

/** Creates an admission controller with `limits`. */
export function createAdmissionController(limits: AdmissionLimits): AdmissionController {
  let requests = 0;
  let bytesInFlight = 0;
  let queued = 0;
  let admittedTotal = 0;
  let rejectedTotal = 0;
  const inflightOf = new Map<string, number>();
  const bytesOf = new Map<string, number>();
  // Insertion order is the round-robin order; a key goes to the back when it is served.
  const waiting = new Map<string, Waiter[]>();

  const activeKeys = (key?: string): number => {
    let n = inflightOf.size;
    for (const k of waiting.keys()) if (!inflightOf.has(k)) n++;
    if (key !== undefined && !inflightOf.has(key) && !waiting.has(key)) n++;
    return n;
  };

  const fits = (key: string, bytes: number): boolean => {
    if (requests + 1 > limits.maxRequests) return false;
    if (requests > 0 && bytesInFlight + bytes > limits.maxBytes) return false;
    const active = activeKeys(key);
    const mine = inflightOf.get(key) ?? 0;
    if (mine + 1 > Math.max(1, Math.floor(limits.maxRequests / active))) return false;
    if (limits.maxRequestsPerKey !== undefined && mine + 1 > limits.maxRequestsPerKey) return false;
    // A key's first request is always let in (when the total allows), so that one large request is never starved.
    return mine === 0 || (bytesOf.get(key) ?? 0) + bytes <= limits.maxBytes / active;
  };

  const admit = (key: string, bytes: number): Permit => {
    requests++;
    bytesInFlight += bytes;
    admittedTotal++;
    inflightOf.set(key, (inflightOf.get(key) ?? 0) + 1);
    bytesOf.set(key, (bytesOf.get(key) ?? 0) + bytes);
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        requests--;
        bytesInFlight -= bytes;
        const n = (inflightOf.get(key) ?? 1) - 1;
        if (n > 0) {
          inflightOf.set(key, n);
          bytesOf.set(key, (bytesOf.get(key) ?? bytes) - bytes);
        } else {
          inflightOf.delete(key);
          bytesOf.delete(key);
        }
        drain();
      },
    };
  };

  const removeWaiter = (w: Waiter): boolean => {
    const list = waiting.get(w.key);
    const i = list ? list.indexOf(w) : -1;
    if (!list || i < 0) return false;
    list.splice(i, 1);
    if (!list.length) waiting.delete(w.key);
    queued--;
    if (w.timer) clearTimeout(w.timer);
    return true;
  };

  const reject = (w: Waiter): void => {
    rejectedTotal++;
    w.resolve(null);
  };

  function drain(): void {
    let progressed = true;
    while (progressed && waiting.size) {
      progressed = false;
      for (const [key, list] of [...waiting]) {
        const head = list[0];
        if (!head || !fits(key, head.bytes)) continue;
        removeWaiter(head);
        // Served keys go to the back of the round.
        const rest = waiting.get(key);
        if (rest) {
          waiting.delete(key);
          waiting.set(key, rest);
        }
        head.resolve(admit(key, head.bytes));
        progressed = true;
      }
    }
  }

  return {
    acquire(key, bytes) {
      if (!waiting.has(key) && fits(key, bytes)) return Promise.resolve(admit(key, bytes));
      const keyShare = Math.max(1, Math.floor(limits.queueMax / activeKeys(key)));
      const mine = waiting.get(key)?.length ?? 0;
      if (limits.queueMax === 0 || limits.queueTimeoutMs === 0 || mine >= keyShare) {
        rejectedTotal++;
        return Promise.resolve(null);
      }
      if (queued >= limits.queueMax) {
        // The queue is full, but this key is under its share: the newest waiter of the key that
        // queues most gives way, so that a flood from one organisation cannot lock others out.
        let longest: Waiter[] | undefined;
        for (const list of waiting.values()) if (!longest || list.length > longest.length) longest = list;
        const victim = longest?.[longest.length - 1];
        if (!victim || (longest?.length ?? 0) <= mine + 1) {
          rejectedTotal++;
          return Promise.resolve(null);
        }
        removeWaiter(victim);
        reject(victim);
      }
      return new Promise<Permit | null>((resolve) => {
        const w: Waiter = { key, bytes, resolve, timer: undefined };
        w.timer = setTimeout(() => {
          if (removeWaiter(w)) reject(w);
        }, limits.queueTimeoutMs);
        w.timer.unref();
        const list = waiting.get(key);
        if (list) list.push(w);
        else waiting.set(key, [w]);
        queued++;
      });
    },
    stats() {
      return { inflightRequests: requests, inflightBytes: bytesInFlight, queued, activeKeys: activeKeys(), admittedTotal, rejectedTotal };
    },
  };
}

let current: AdmissionController | undefined;

/** Makes `c` the controller {@link getAdmissionStats} reports (the last instance created). */
export function registerAdmissionController(c: AdmissionController): void {
  current = c;
}

/**
 * Counters of this process's admission controller (in-flight requests and bytes, queue depth,
 * admitted and refused totals), for a metrics endpoint. All zero before an instance starts.
 */
export function getAdmissionStats(): AdmissionStats {
  return current?.stats() ?? { inflightRequests: 0, inflightBytes: 0, queued: 0, activeKeys: 0, admittedTotal: 0, rejectedTotal: 0 };
}
