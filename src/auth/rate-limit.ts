/**
 * Counts failures per key in a sliding one-minute window (in process memory: each instance
 * limits what it sees). Used for failed token requests per AccessKey and per client address.
 *
 * Only failures are counted and only failures are refused: a caller that proves it holds the
 * secret is never turned away because someone else guessed wrong for the same AccessKey or
 * from the same address (NAT).
 */
export interface FailureLimiter {
  /** Seconds until `key` drops below the limit, else 0. */
  retryAfterS(key: string, now?: number): number;
  /**
   * Records one failure for each of `keys`. Returns 0 while every key had fewer than the limit
   * in the window, else the seconds until the fullest key frees a place (the answer to this
   * failure is then 429 with that Retry-After).
   */
  recordFailure(keys: readonly string[], now?: number): number;
}

/** Most keys tracked at once; the oldest are forgotten first past this. */
const MAX_TRACKED_KEYS = 100_000;

/** Creates a limiter allowing `maxPerMinute` failures per key. */
export function createFailureLimiter(maxPerMinute: number, windowMs = 60_000): FailureLimiter {
  const hits = new Map<string, number[]>();
  const prune = (key: string, now: number): number[] => {
    const list = (hits.get(key) ?? []).filter((t) => now - t < windowMs);
    if (list.length) hits.set(key, list);
    else hits.delete(key);
    return list;
  };
  const waitOf = (list: readonly number[], now: number): number => (list.length < maxPerMinute ? 0 : Math.max(1, Math.ceil((list[0]! + windowMs - now) / 1000)));
  return {
    retryAfterS(key, now = Date.now()) {
      return waitOf(prune(key, now), now);
    },
    recordFailure(keys, now = Date.now()) {
      let wait = 0;
      for (const key of keys) {
        const list = prune(key, now);
        // A key at the limit stays there until its oldest failure leaves the window; further
        // failures are refused, not stored, so that a flood costs no memory.
        if (list.length >= maxPerMinute) {
          wait = Math.max(wait, waitOf(list, now));
          continue;
        }
        list.push(now);
        hits.set(key, list);
        if (hits.size > MAX_TRACKED_KEYS) hits.delete(hits.keys().next().value as string);
      }
      return wait;
    },
  };
}
