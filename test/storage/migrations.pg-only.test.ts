import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from '../../src/storage/db';
import { countMigrationFiles, runMigrations } from '../../src/storage/migrate';
import { dbUrl, withAdmin } from '../helpers/pg-admin';
import { sql } from 'drizzle-orm';

const run = promisify(execFile);
const name = `tributary_mig_${randomBytes(5).toString('hex')}`;
const url = dbUrl(name);

beforeAll(() => withAdmin((s) => s.unsafe(`create database ${name}`)));
afterAll(() => withAdmin((s) => s.unsafe(`drop database if exists ${name} with (force)`)));

const migrateCli = () => run(process.execPath, ['bin/tributary.js', 'migrate'], { env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'info', TIMESCALEDB: 'require' } });

describe('migrations on PostgreSQL with TimescaleDB', () => {
  it('run from an empty database in two processes at once, then a third time as a no-op', async () => {
    const [a, b] = await Promise.all([migrateCli(), migrateCli()]);
    for (const r of [a, b]) expect(r.stdout).toContain('"msg":"migrations applied"');
    await migrateCli();
    const d = await openDatabase({ url, dataDir: '', poolMax: 1 });
    try {
      const rows = await queryRows<{ n: number }>(d.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
      expect(rows[0]!.n).toBe(countMigrationFiles());
      const hyper = await queryRows<{ hypertable_name: string }>(d.db, sql`select hypertable_name from timescaledb_information.hypertables order by 1`);
      expect(hyper.map((h) => h.hypertable_name)).toEqual(expect.arrayContaining(['attribute_history', 'event_data', 'point_data']));
      const again = await runMigrations(d, { timescale: 'require', chunkInterval: '6 hours' });
      expect(again.timescale).toBe(true);
      const dims = await queryRows<{ iv: string }>(d.db, sql`select time_interval::text as iv from timescaledb_information.dimensions where hypertable_name = 'point_data'`);
      expect(dims[0]!.iv).toBe('06:00:00');
    } finally {
      await d.close();
    }
  });

  it('keeps time-series tables plain where TimescaleDB is off', async () => {
    const plain = `tributary_plain_${randomBytes(5).toString('hex')}`;
    await withAdmin((s) => s.unsafe(`create database ${plain}`));
    const d = await openDatabase({ url: dbUrl(plain), dataDir: '', poolMax: 1 });
    try {
      const r = await runMigrations(d, { timescale: 'off', chunkInterval: '1 day' });
      expect(r.timescale).toBe(false);
      const ext = await queryRows<{ n: number }>(d.db, sql`select count(*)::int as n from pg_extension where extname = 'timescaledb'`);
      expect(ext[0]!.n).toBe(0);
    } finally {
      await d.close();
      await withAdmin((s) => s.unsafe(`drop database if exists ${plain} with (force)`));
    }
  });
});
