import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock';
import { copyPgliteSeed } from './pglite-seed';
import { pipelinedTransactions, type WriteTransaction } from './pipelined-transaction';
import { withPreparedStatements, type QueryCounter } from './prepared-statements';
import * as schema from './schema/index';

export type Schema = typeof schema;
/** The one drizzle handle type used across the code, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A handle or an open transaction: query functions take either. */
export type DbOrTx = Db | Parameters<Parameters<Db['transaction']>[0]>[0];

/** The driver underneath a {@link Database}, for the few places that need it (LISTEN, migrations). */
export type DriverClient =
  | { readonly kind: 'postgres'; readonly sql: postgres.Sql; readonly url: string }
  | { readonly kind: 'pglite'; readonly pg: PGlite };

/** An open database: the drizzle handle, its driver, and what the server supports. */
export interface Database {
  readonly db: Db;
  readonly client: DriverClient;
  /** True when TimescaleDB is installed in this database (set after migrations). */
  timescale: boolean;
  /** The lock on an embedded data directory, held until {@link close} (data-dir-lock.ts). */
  readonly dataDirLock?: DataDirLock;
  /**
   * Runs a write transaction whose BEGIN and COMMIT travel with its statements on PostgreSQL
   * (pipelined-transaction.ts); the driver's transaction on PGlite.
   */
  readonly writeTransaction: WriteTransaction;
  /** Queries in flight (PostgreSQL; always 0 on PGlite, which runs one query at a time in process) and the pool size. */
  stats(): { readonly queriesInFlight: number; readonly poolMax: number };
  close(): Promise<void>;
}

/** Options for {@link openDatabase}. */
export interface OpenOptions {
  /** postgres URL; when absent, PGlite under `dataDir`. */
  readonly url?: string | undefined;
  /** PGlite data directory; `memory://` for an in-memory database. */
  readonly dataDir: string;
  /** Pool size for postgres.js. */
  readonly poolMax: number;
  /** Longest wait for a new postgres.js connection, in ms. Default 3000. */
  readonly connectTimeoutMs?: number;
  /** PostgreSQL statement_timeout of every connection, in ms; 0 or absent: the server's setting. */
  readonly statementTimeoutMs?: number;
  /** Start a new PGlite data folder from the built seed (see pglite-seed.ts). Default: true. */
  readonly seed?: boolean;
}

const PGLITE_STATS = () => ({ queriesInFlight: 0, poolMax: 1 });

/** Opens postgres.js to `url`, or PGlite under `dataDir`, behind one drizzle handle. */
export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) {
    const client = postgres(opts.url, {
      max: opts.poolMax,
      // A database that does not answer fails the request within this time instead of holding it for postgres.js's 30 s default.
      connect_timeout: (opts.connectTimeoutMs ?? 3_000) / 1000,
      onnotice: () => {},
      // NOTE: bigint/numeric stay strings; timestamps come back as Date. Custom plans: see prepared-statements.ts.
      connection: { application_name: 'tributary', plan_cache_mode: 'force_custom_plan', ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}) },
    });
    const counter: QueryCounter = { inFlight: 0 };
    const db = drizzlePostgres({ client: withPreparedStatements(client, counter), schema }) as unknown as Db;
    return {
      db,
      client: { kind: 'postgres', sql: client, url: opts.url },
      writeTransaction: pipelinedTransactions(client, (c) => withPreparedStatements(c, counter)),
      timescale: false,
      stats: () => ({ queriesInFlight: counter.inFlight, poolMax: opts.poolMax }),
      close: () => client.end({ timeout: 5 }),
    };
  }
  if (opts.dataDir.startsWith('memory://')) {
    const pg = await PGlite.create();
    const db = drizzlePglite({ client: pg, schema }) as unknown as Db;
    return { db, client: { kind: 'pglite', pg }, writeTransaction: driverTransactions(db), timescale: false, stats: PGLITE_STATS, close: () => pg.close() };
  }
  const dataDir = opts.dataDir.replace(/[\\/]+$/, '');
  mkdirSync(dirname(dataDir), { recursive: true });
  // Taken before PGlite reads the directory (or the seed is copied into it): a second process
  // must not even load a copy.
  const lock = acquireDataDirLock(`${dataDir}.lock`);
  let pg: PGlite;
  try {
    if (opts.seed ?? true) copyPgliteSeed(dataDir);
    mkdirSync(dataDir, { recursive: true });
    pg = await PGlite.create(dataDir);
  } catch (e) {
    lock.release();
    throw e;
  }
  const db = drizzlePglite({ client: pg, schema }) as unknown as Db;
  return {
    db,
    client: { kind: 'pglite', pg },
    writeTransaction: driverTransactions(db),
    timescale: false,
    dataDirLock: lock,
    stats: PGLITE_STATS,
    close: async () => {
      try {
        await pg.close();
      } finally {
        lock.release();
      }
    },
  };
}

/** The driver's own transactions, as a {@link WriteTransaction}. */
const driverTransactions = (db: Db): WriteTransaction => (fn) => db.transaction(fn);

/** Runs raw SQL and returns its rows, whichever driver runs it. */
export async function queryRows<T = Record<string, unknown>>(db: DbOrTx, query: SQL): Promise<T[]> {
  const res = (await db.execute(query)) as unknown;
  if (Array.isArray(res)) return res as T[];
  return ((res as { rows?: T[] }).rows ?? []) as T[];
}

/** Database reachability, for /readyz. */
export async function pingDatabase(db: Db): Promise<boolean> {
  try {
    await queryRows(db, sql`select 1`);
    return true;
  } catch {
    return false;
  }
}
