import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '../../src/storage/db';
import { runMigrations } from '../../src/storage/migrate';
import { TEMPLATE_DB, dbUrl, withAdmin } from './pg-admin';

/** Which driver this run of the suite uses. */
export const DRIVER: 'postgres' | 'pglite' = process.env['TEST_DRIVER'] === 'pglite' ? 'pglite' : 'postgres';

/** A database for one test file: cloned from the template (postgres) or fresh in memory (PGlite). */
export interface TestDatabase {
  readonly database: Database;
  /** postgres URL (undefined on PGlite). */
  readonly url: string | undefined;
  readonly name: string | undefined;
  drop(): Promise<void>;
}

/** Creates a migrated database for a test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (DRIVER === 'pglite') {
    const database = await openDatabase({ dataDir: 'memory://', poolMax: 1 });
    await runMigrations(database, { timescale: 'auto', chunkInterval: '1 day' });
    return { database, url: undefined, name: undefined, drop: () => database.close() };
  }
  const name = `tributary_t_${randomBytes(6).toString('hex')}`;
  await withAdmin((sql) => sql.unsafe(`create database ${name} template ${TEMPLATE_DB}`));
  const url = dbUrl(name);
  const database = await openDatabase({ url, dataDir: '', poolMax: 5 });
  await runMigrations(database, { timescale: 'require', chunkInterval: '1 day' });
  return {
    database,
    url,
    name,
    async drop() {
      await database.close().catch(() => {});
      await withAdmin((sql) => sql.unsafe(`drop database if exists ${name} with (force)`));
    },
  };
}
