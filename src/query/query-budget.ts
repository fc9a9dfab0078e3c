import { AppError, ErrorCode } from '../errors';

/**
 * What one operation's data fields may still return, and its place in the heavy-query lane.
 * Implemented per operation by the server (server/query-budget.ts); the query services only
 * charge it before they read.
 */
export interface QueryBudget {
  /**
   * Counts `values` (aggregate buckets x series, history or event rows, latest values) against
   * the operation's budget before they are read: RESPONSE_TOO_LARGE when the operation's fields
   * together would return more. Work of `heavy` size (or any work when `heavy` is true) first
   * takes a place in the heavy-query lane: RATE_LIMITED when none frees up in time.
   */
  charge(values: number, opts: { readonly heavy?: boolean; readonly advice: string }): Promise<void>;
}

/** Advice for a client whose aggregate query is too large. */
export const AGGREGATE_ADVICE = 'ask for a longer interval, a shorter time range, or fewer devices or aggregates';
/** Advice for a client whose history query is too large. */
export const PAGE_ADVICE = 'ask for smaller pages (first) or fewer devices or points';
/** Advice for a client whose latest-values query is too large. */
export const LATEST_ADVICE = 'ask for fewer devices or points, or split the query';

/** The heavy-query lane as the budget needs it: the server's admission controller for heavy work. */
export interface HeavyLane {
  acquire(key: string, weight: number): Promise<{ release(): void } | null>;
}

/** Bounds of an {@link OperationBudget} (from config). */
export interface OperationBudgetLimits {
  /** QUERY_MAX_RESPONSE_VALUES: values one operation may return over all its fields. */
  readonly maxValues: number;
  /** QUERY_HEAVY_MIN_VALUES: values from which one field counts as heavy. */
  readonly heavyMinValues: number;
}

/** The budget of one operation; `release()` gives its place in the heavy lane back once the response is built. */
export interface OperationBudget extends QueryBudget {
  release(): void;
}

/**
 * The budget of one operation for `key` (its organisation): every field's values count against
 * `limits.maxValues` together, so that aliases cannot multiply a legal field past it; the first
 * heavy field takes one place in `lane` for the whole operation.
 */
export function createOperationBudget(limits: OperationBudgetLimits, lane: HeavyLane, key: string): OperationBudget {
  let charged = 0;
  let released = false;
  let place: { release(): void } | null = null;
  let entering: Promise<void> | null = null;
  return {
    async charge(values, opts) {
      const total = charged + values;
      if (total > limits.maxValues) {
        throw new AppError(ErrorCode.RESPONSE_TOO_LARGE, `this operation would return up to ${total} values; one operation returns at most ${limits.maxValues} (QUERY_MAX_RESPONSE_VALUES): ${opts.advice}, or page through the data`, { max: limits.maxValues, requested: total });
      }
      charged = total;
      if (!opts.heavy && values < limits.heavyMinValues) return;
      entering ??= lane.acquire(key, 1).then((p) => {
        if (!p) throw new AppError(ErrorCode.RATE_LIMITED, 'too many expensive queries (long aggregates, full history pages) in progress; retry later');
        if (released) p.release();
        else place = p;
      });
      await entering;
    },
    release() {
      released = true;
      place?.release();
      place = null;
    },
  };
}
