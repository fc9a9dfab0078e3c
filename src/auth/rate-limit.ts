/**
 * Counts failures per key in a sliding one-minute window (in process memory: each instance
 * limits what it sees). Used for failed token requests per AccessKey and per client address.
 */
export interface FailureLimiter {
  /** Seconds to wait when `key` is over the limit, else 0. */
  retryAfterS(key: string, now?: number): number;
  recordFailure(key: string, now?: number): void;
}

/** Creates a limiter allowing `maxPerMinute` failures per key. */
export function createFailureLimiter(maxPerMinute: number, windowMs = 60_000): FailureLimiter {
  const hits = new Map<string, number[]>();
  const prune = (key: string, now: number): number[] => {
    const list = (hits.get(key) ?? []).filter((t) => now - t < windowMs);
    if (list.length) hits.set(key, list);
    else hits.delete(key);
    return list;
  };
  return {
    retryAfterS(key, now = Date.now()) {
      const list = prune(key, now);
      if (list.length < maxPerMinute) return 0;
      return Math.max(1, Math.ceil((list[0]! + windowMs - now) / 1000));
    },
    recordFailure(key, now = Date.now()) {
      const list = prune(key, now);
      list.push(now);
      hits.set(key, list);
      if (hits.size > 100_000) hits.delete(hits.keys().next().value as string);
    },
  };
}
