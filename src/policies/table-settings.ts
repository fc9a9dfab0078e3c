import { sql } from 'drizzle-orm';
import { queryRows, type DbOrTx } from '../storage/db';

/**
 * Free space left in each page of the tables that every ingest batch updates in place (the
 * current rollup bucket and normalized minute of each series): room for the new row version on
 * the same page makes the update HOT (no new index entries, dead versions pruned with the page),
 * so these small, hot tables neither bloat their indexes nor slow down under ingest.
 */
export const DERIVED_TABLE_FILLFACTOR = 50;

const TABLES = ['rollup_1m', 'rollup_1h', 'rollup_1d', 'point_normalized_1m'] as const;

/**
 * Sets the fillfactor of the derived tables where it is not set yet. Idempotent; runs after the
 * migrations (drizzle's schema cannot express table storage parameters), takes only a brief
 * SHARE UPDATE EXCLUSIVE lock (DML goes on) and affects pages written from then on.
 */
export async function tuneDerivedTables(db: DbOrTx): Promise<void> {
  const option = `fillfactor=${DERIVED_TABLE_FILLFACTOR}`;
  const rows = await queryRows<{ relname: string }>(
    db,
    sql`select c.relname from pg_class c
        where c.relname = any(${sql.param([...TABLES])}::text[]) and c.relkind = 'r' and c.relnamespace = 'public'::regnamespace
          and not (coalesce(c.reloptions, '{}') @> array[${option}])`,
  );
  for (const r of rows) await queryRows(db, sql`alter table ${sql.identifier(r.relname)} set (fillfactor = ${sql.raw(String(DERIVED_TABLE_FILLFACTOR))})`);
}
