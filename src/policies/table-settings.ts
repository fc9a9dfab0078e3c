import { sql } from 'drizzle-orm';
import { queryRows, type DbOrTx } from '../storage/db';

/**
 * How full (percent) the pages of the tables that every ingest batch updates in place (the
 * current rollup bucket and normalized minute of each series) are filled by inserts. The free
 * space lets the new row version stay on its page, which makes the update HOT (no new index
 * entries; dead versions pruned with the page), so these small, hot tables neither bloat nor
 * slow down under ingest.
 * PERF: a third, not half: a page needs room for TWO more versions of its rows, the one the
 * previous transaction replaced (still visible to the snapshot of a concurrent ingest
 * transaction, so not prunable yet) and the new one. At 50, about a fifth of the rollup updates
 * of the policies benchmark were not HOT (its 2,000-row rollup table grew to 618 pages in 100
 * batches); at 33 all were (85 pages after 200 batches), and the rollup upserts took about a
 * quarter less database CPU. The price: these tables
 * take three times their packed size (they hold one row per series and bucket, a small
 * fraction of the raw history).
 */
export const DERIVED_TABLE_FILLFACTOR = 33;

const TABLES = ['rollup_1m', 'rollup_1h', 'rollup_1d', 'point_normalized_1m'] as const;

/**
 * Sets the fillfactor of the derived tables where it is not set yet (or set to another value). Idempotent; runs after the
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
