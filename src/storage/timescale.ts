import { sql } from 'drizzle-orm';
import { queryRows, type DbOrTx } from './db';

/** Tables that become hypertables on TimescaleDB, partitioned by `time`. */
export const HYPERTABLES = ['point_data', 'event_data', 'attribute_history'] as const;

/** Whether the server can load TimescaleDB (available and preloaded). */
export async function isTimescaleAvailable(db: DbOrTx): Promise<boolean> {
  const rows = await queryRows<{ available: boolean; preloaded: string }>(
    db,
    sql`select exists(select 1 from pg_available_extensions where name = 'timescaledb') as available,
               coalesce(current_setting('shared_preload_libraries', true), '') as preloaded`,
  );
  const r = rows[0];
  return !!r && r.available && r.preloaded.includes('timescaledb');
}

/** Whether the extension is installed in the current database. */
export async function isTimescaleInstalled(db: DbOrTx): Promise<boolean> {
  const rows = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from pg_extension where extname = 'timescaledb'`);
  return (rows[0]?.n ?? 0) > 0;
}

/**
 * Turns the time-series tables into hypertables (idempotent) and applies the configured chunk
 * interval to new chunks.
 *
 * NOTE: this runs after drizzle's migrations rather than inside one, because the chunk interval
 * comes from config and because drizzle runs all pending migrations in a single transaction;
 * every statement here is safe to repeat, and runs under the same advisory lock as migrations.
 */
export async function ensureHypertables(db: DbOrTx, chunkInterval: string): Promise<void> {
  await queryRows(db, sql`create extension if not exists timescaledb`);
  for (const table of HYPERTABLES) {
    await queryRows(
      db,
      sql`select create_hypertable(${table}::regclass, 'time', chunk_time_interval => ${chunkInterval}::interval,
                                   if_not_exists => true, migrate_data => true, create_default_indexes => false)`,
    );
    await queryRows(db, sql`select set_chunk_time_interval(${table}::regclass, ${chunkInterval}::interval)`);
  }
}
