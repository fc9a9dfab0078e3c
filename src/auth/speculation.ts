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
 * Mutations and subscriptions wait for the checks, except the ingest mutations, whose facts are
 * confirmed inside their write transaction before it commits (a deferred speculation:
 * ingest takes the confirmations and runs them in the transaction; see ingest/group-commit.ts).
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
  /** Confirmations with the same key ask the same query: run together, the query is sent once. */
  readonly key?: string;
  /**
   * The fact as a one-value boolean query, true while it holds as remembered, so that a write
   * transaction can assert it on the server instead of reading its rows back first
   * (ingest/remembered-facts.ts). Assertions with the same key are the same: asserted once.
   * Built only when asked for: a read-only request never needs it.
   */
  readonly assertion?: () => { readonly holds: SQL; readonly key: string };
}

/** The speculation of one request: the facts it took from the caches, awaiting confirmation. */
export class Speculation {
  #queue: Confirmation[] = [];
  readonly #verdicts: Promise<boolean>[] = [];

  /**
   * @param deferred the confirmations wait for {@link take} (a write transaction runs them) or
   *   {@link holds}, instead of being sent after the turn.
   */
  constructor(
    private readonly db: DbOrTx,
    readonly facts: SpeculationCaches['facts'],
    readonly deferred = false,
  ) {}

  /**
   * Registers a fact the request used. Facts registered in the same turn of the event loop are
   * confirmed by one statement, sent after the turn (so after the queries the request issued in it).
   */
  confirm(c: Confirmation): void {
    this.#queue.push(c);
    if (this.#queue.length === 1 && !this.deferred) setImmediate(() => this.#flush());
  }

  /**
   * Takes the facts registered so far, for the caller to confirm itself (inside its write
   * transaction, before writing); it must then {@link settle} the verdict.
   */
  take(): Confirmation[] {
    const taken = this.#queue;
    this.#queue = [];
    return taken;
  }

  /** Records the verdict on facts taken by {@link take}. */
  settle(verdict: Promise<boolean> | boolean): void {
    this.#verdicts.push(Promise.resolve(verdict).catch(() => false));
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
  return (await checkConfirmations(db, batch)).every(Boolean);
}

/**
 * Runs confirmations as one statement (each distinct query's rows as one JSON column; queries
 * with the same key are sent once) and returns the verdict of each, in order.
 */
export async function checkConfirmations(db: DbOrTx, batch: readonly Confirmation[]): Promise<boolean[]> {
  if (!batch.length) return [];
  const columnOf = new Map<string, number>();
  const queries: SQL[] = [];
  const column = batch.map((c) => {
    const seen = c.key === undefined ? undefined : columnOf.get(c.key);
    if (seen !== undefined) return seen;
    queries.push(c.query);
    if (c.key !== undefined) columnOf.set(c.key, queries.length - 1);
    return queries.length - 1;
  });
  const columns = queries.map((q, i) => sql`(select coalesce(json_agg(x), '[]'::json) from (${q}) as x) as ${sql.raw(`c${i}`)}`);
  const [row] = await queryRows<Record<string, unknown>>(db, sql`select ${sql.join(columns, sql`, `)}`);
  // NOTE: every check runs (each refreshes what is remembered), not only up to the first failure.
  return batch.map((c, i) => {
    const v = row?.[`c${column[i]!}`];
    return c.check((typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>[]);
  });
}

/** Whether two callers are the same with the same grants (a changed grant voids a speculation). */
export function sameCaller(a: Caller | null, b: Caller | null): boolean {
  if (!a || !b) return a === b;
  return a.saId === b.saId && a.orgId === b.orgId && a.accessKey === b.accessKey && JSON.stringify(a.grants) === JSON.stringify(b.grants);
}
