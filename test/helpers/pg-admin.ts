import { createHash } from 'node:crypto';
import postgres from 'postgres';

/** The test server: PostgreSQL with TimescaleDB on 127.0.0.1:5432 (trust auth). Override with TEST_PG_URL. */
export const ADMIN_URL = process.env['TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Template database holding the migrated schema; each test file clones it. */
export const TEMPLATE_DB = `tributary_tpl_${createHash('sha256').update(process.cwd()).digest('hex').slice(0, 8)}`;
// NOTE: named after the checkout, so that two checkouts (worktrees) can run the suite at once.

/** URL of database `name` on the test server. */
export function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs `fn` with an admin connection to the test server. */
export async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Explains how to get the test database when it is missing. */
export const HOW_TO_GET_POSTGRES =
  'The test suite needs PostgreSQL 15 with TimescaleDB on 127.0.0.1:5432 (user postgres, trust auth). ' +
  'Start it with `pg_ctlcluster --skip-systemctl-redirect 15 main start`, install TimescaleDB with ' +
  '`bash scripts/install-timescaledb.sh`, then check with `bash scripts/setup-test-db.sh`.';
