import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type DbOrTx } from '../storage/db';

/*
 * Several writes in one round trip, as one SQL statement with one data-modifying CTE per part. Each one is read by a scalar subquery of the final
 *   select, in the order given, so the parts run one after the other in that order: concurrent
 *   transactions lock rows of the different tables in the same order (no deadlocks). All parts
 *   see the snapshot taken at the start of the statement, so no part may depend on another's
 *   effect, and two parts must never touch the same row.
 */

/** Runs write statements (INSERT/UPDATE/DELETE without RETURNING) in order, in one round trip. */
export async function runWrites(tx: DbOrTx, parts: readonly SQL[]): Promise<void> {
  if (!parts.length) return;
  if (parts.length === 1) {
    await queryRows(tx, parts[0]!);
    return;
  }
  const ctes = sql.join(
    parts.map((p, i) => sql`${sql.raw(`w${i}`)} as (${p} returning 1)`),
    sql`, `,
  );
  const counts = sql.join(
    parts.map((_, i) => sql.raw(`(select count(*) from w${i})`)),
    sql`, `,
  );
  await queryRows(tx, sql`with ${ctes} select ${counts}`);
}
