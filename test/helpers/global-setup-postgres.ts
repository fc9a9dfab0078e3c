import { openDatabase } from '../../src/storage/db';
import { runMigrations } from '../../src/storage/migrate';
import { HOW_TO_GET_POSTGRES, TEMPLATE_DB, dbUrl, withAdmin } from './pg-admin';

/**
 * Creates the template database once per run: migrated, with TimescaleDB required. A missing
 * server or extension fails the run with instructions (never a skip).
 */
export default async function setup(): Promise<void> {
  try {
    await withAdmin(async (sql) => {
      const [ts] = await sql`select count(*)::int as n from pg_available_extensions where name = 'timescaledb'`;
      if (!ts || ts['n'] === 0) throw new Error('TimescaleDB is not installed on the test server.');
      await sql.unsafe(`alter database ${TEMPLATE_DB} with is_template false allow_connections true`).catch(() => {});
      await sql.unsafe(`drop database if exists ${TEMPLATE_DB} with (force)`);
      await sql.unsafe(`create database ${TEMPLATE_DB}`);
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${HOW_TO_GET_POSTGRES}`);
  }
  const database = await openDatabase({ url: dbUrl(TEMPLATE_DB), dataDir: '', poolMax: 2 });
  try {
    await runMigrations(database, { timescale: 'require', chunkInterval: '1 day' });
  } finally {
    await database.close();
  }
  await withAdmin((sql) => sql.unsafe(`alter database ${TEMPLATE_DB} with is_template true allow_connections false`));
}
