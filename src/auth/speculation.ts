import { sql, type SQL } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import { queryRows, type DbOrTx } from '../storage/db';
import type { Caller } from './permissions';

/*
 * Speculative reads. A read-only GraphQL request over HTTP may start from facts this instance
 * saw confirmed by the database on an earlier request: the caller behind a token, the devices
 * behind asset ids. The database is asked again, concurrently with the operation; the response
 * leaves only once every fact it used is confirmed, and otherwise the operation runs again on the
 * fresh facts. So nothing is answered that the database would not allow at the time of the
 * request (a revoked token, a deleted device or a changed grant takes effect at once),
 * while the checks do not wait for one another: a page of history costs one
 * round trip of latency instead of three, and the checks of one request travel as one statement.
 *
 * Mutations and subscriptions never speculate: they wait for the checks.
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

/** A cached fact to confirm: a query, and the verdict on its rows (which also refreshes or forgets what is remembered). */
export interface Confirmation {
  readonly query: SQL;
  readonly check: (rows: readonly Record<string, unknown>[]) => boolean;
}

/** The speculation of one request: the facts it took from the caches, awaiting confirmation. */
export class Speculation {
  #queue: Confirmation[] = [];
  readonly #verdicts: Promise<boolean>[] = [];

  constructor(
    private readonly db: DbOrTx,
    readonly facts: SpeculationCaches['facts'],
  ) {}

  /**
   * Registers a fact the request used. Facts registered in the same turn of the event loop are
   * confirmed by one statement, sent after the turn (so after the queries the request issued in it).
   */
  confirm(c: Confirmation): void {
    this.#queue.push(c);
    if (this.#queue.length === 1) setImmediate(() => this.#flush());
  }

  /** Whether every fact used so far was confirmed (false on any database failure). */
  async holds(): Promise<boolean> {
    this.#flush();
    // NOTE: indexed loop: a verdict may be added while another is awaited.
    for (let i = 0; i < this.#verdicts.length; i++) if (!(await this.#verdicts[i])) return false;
    return true;
  }

  #flush(): void {
    const batch = this.#queue;
    if (!batch.length) return;
    this.#queue = [];
    this.#verdicts.push(runConfirmations(this.db, batch).catch(() => false));
  }
}

/** Runs confirmations as one statement (each query's rows as one JSON column) and applies every check. */
async function runConfirmations(db: DbOrTx, batch: readonly Confirmation[]): Promise<boolean> {
  const columns = batch.map((c, i) => sql`(select coalesce(json_agg(x), '[]'::json) from (${c.query}) as x) as ${sql.raw(`c${i}`)}`);
  const [row] = await queryRows<Record<string, unknown>>(db, sql`select ${sql.join(columns, sql`, `)}`);
  // NOTE: every check runs (each refreshes what is remembered), not only up to the first failure.
  const verdicts = batch.map((c, i) => {
    const v = row?.[`c${i}`];
    return c.check((typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>[]);
  });
  return verdicts.every(Boolean);
}

/** Whether two callers are the same with the same grants (a changed grant voids a speculation). */
export function sameCaller(a: Caller | null, b: Caller | null): boolean {
  if (!a || !b) return a === b;
  return a.saId === b.saId && a.orgId === b.orgId && a.accessKey === b.accessKey && JSON.stringify(a.grants) === JSON.stringify(b.grants);
}
