import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import postgres from 'postgres';
import { packagePath } from '../package-root';
import { queryRows, type Database, type Db } from './db';
import { ensureHypertables, isTimescaleAvailable, isTimescaleInstalled } from './timescale';

/** Folder of the SQL migrations (`drizzle/` at the project root). */
export const MIGRATIONS_DIR = packagePath('drizzle');

/** Key of the advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK_KEY = 7_262_617_001;

/** How TimescaleDB is used: see the TIMESCALEDB config key. */
export type TimescaleMode = 'auto' | 'require' | 'off';

/** Options for {@link runMigrations}. */
export interface MigrateOptions {
  readonly timescale: TimescaleMode;
  /** Hypertable chunk interval, e.g. `1 day`. */
  readonly chunkInterval: string;
}

/** What {@link runMigrations} did. */
export interface MigrateResult {
  readonly timescale: boolean;
  readonly applied: number;
}

/** Number of migrations in drizzle/meta/_journal.json. */
export function countMigrationFiles(): number {
  const journal = JSON.parse(readFileSync(`${MIGRATIONS_DIR}/meta/_journal.json`, 'utf8')) as { entries: unknown[] };
  return journal.entries.length;
}

/** Number of migrations recorded as applied in the database (0 when none ran yet). */
export async function countAppliedMigrations(db: Db): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    db,
    sql`select case when to_regclass('drizzle.__drizzle_migrations') is null then 0
                    else (select count(*)::int from drizzle.__drizzle_migrations) end as n`,
  );
  return rows[0]?.n ?? 0;
}

/**
 * Applies pending migrations, then the TimescaleDB setup, under an advisory lock so that two
 * instances starting at once take turns. Sets `database.timescale`.
 */
export async function runMigrations(database: Database, opts: MigrateOptions): Promise<MigrateResult> {
  const { client } = database;
  let timescale = false;
  if (client.kind === 'pglite') {
    // One in-process session: nothing to race with.
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder: MIGRATIONS_DIR });
    if (opts.timescale === 'require') throw new Error('TIMESCALEDB=require but the embedded database (PGlite) has no TimescaleDB');
  } else {
    // A dedicated single connection: the lock, the migration transaction and the Timescale DDL
    // all run in the same session.
    const conn = postgres(client.url, { max: 1, onnotice: () => {}, connection: { application_name: 'tributary-migrate' } });
    try {
      await conn`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      try {
        const mdb = drizzlePostgres({ client: conn });
        await migratePostgres(mdb, { migrationsFolder: MIGRATIONS_DIR });
        const db = mdb as unknown as Db;
        if (opts.timescale !== 'off') {
          if (await isTimescaleAvailable(db)) {
            await ensureHypertables(db, opts.chunkInterval);
            timescale = true;
          } else if (opts.timescale === 'require') {
            throw new Error('TIMESCALEDB=require but the server cannot load TimescaleDB (install it with scripts/install-timescaledb.sh)');
          }
        }
        if (!timescale) timescale = opts.timescale !== 'off' && (await isTimescaleInstalled(db));
      } finally {
        await conn`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
      }
    } finally {
      await conn.end({ timeout: 5 });
    }
  }
  database.timescale = timescale;
  return { timescale, applied: await countAppliedMigrations(database.db) };
}
