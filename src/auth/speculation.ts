import { LRUCache } from 'lru-cache';
import type { Caller } from './permissions';

/*
 * Speculative reads. A read-only GraphQL request over HTTP may start from facts this instance
 * saw confirmed by the database on an earlier request: the caller behind a token, the devices
 * behind asset ids. The database is asked again, concurrently with the operation; the response
 * leaves only once every fact it used is confirmed, and otherwise the operation runs again on the
 * fresh facts. So nothing is answered that the database would not allow at the time of the
 * request (a revoked token, a deleted device or a changed grant takes effect at once, as without
 * speculation), while the checks no longer wait for one another: a page of history costs one
 * round trip of latency instead of three.
 *
 * Mutations and subscriptions never speculate: they wait for the checks, as before.
 */

/** Most callers (tokens) and facts kept per instance; the least recently used go first. */
const CALLERS_MAX = 10_000;
const FACTS_MAX = 100_000;

/** The caches of one instance. */
export interface SpeculationCaches {
  /** Callers behind tokens, as last confirmed. */
  readonly callers: LRUCache<string, Caller>;
  /** Other facts as last confirmed, keyed by the module that reads them (e.g. devices by organisation and asset id). */
  readonly facts: LRUCache<string, object>;
}

/** Creates the empty caches of an instance. */
export function createSpeculationCaches(): SpeculationCaches {
  return { callers: new LRUCache({ max: CALLERS_MAX }), facts: new LRUCache({ max: FACTS_MAX }) };
}

/** The speculation of one request: the facts it took from the caches, awaiting confirmation. */
export class Speculation {
  readonly #checks: Promise<boolean>[] = [];

  constructor(readonly facts: SpeculationCaches['facts']) {}

  /** Registers the database's verdict on a cached fact the request used (false, or a failure, voids the response). */
  confirm(check: Promise<boolean>): void {
    this.#checks.push(check.then((ok) => ok, () => false));
  }

  /** Whether every fact used so far was confirmed. */
  async holds(): Promise<boolean> {
    // NOTE: indexed loop: a check may register another while this one is awaited.
    for (let i = 0; i < this.#checks.length; i++) if (!(await this.#checks[i])) return false;
    return true;
  }
}

/** Whether two callers are the same with the same grants (a changed grant voids a speculation). */
export function sameCaller(a: Caller | null, b: Caller | null): boolean {
  if (!a || !b) return a === b;
  return a.saId === b.saId && a.orgId === b.orgId && a.accessKey === b.accessKey && JSON.stringify(a.grants) === JSON.stringify(b.grants);
}
