import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from '../../src/storage/db';
import { countMigrationFiles, runMigrations } from '../../src/storage/migrate';
import { DRIVER } from '../helpers/test-db';

// Opens its own PGlite databases whatever the run's driver: run it once, in the PGlite run.
describe.runIf(DRIVER === 'pglite')('migrations on embedded PGlite', () => {
  it('run on an empty data directory, again after a restart, and leave the data in place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-pglite-'));
    try {
      const d1 = await openDatabase({ dataDir: dir, poolMax: 1 });
      expect((await runMigrations(d1, { timescale: 'auto', chunkInterval: '1 day' })).applied).toBe(countMigrationFiles());
      await queryRows(d1.db, sql`insert into organisations (id, name) values ('o1', 'kept')`);
      await d1.close();
      const d2 = await openDatabase({ dataDir: dir, poolMax: 1 });
      const r = await runMigrations(d2, { timescale: 'auto', chunkInterval: '1 day' });
      expect(r).toEqual({ timescale: false, applied: countMigrationFiles() });
      expect(await queryRows(d2.db, sql`select name from organisations`)).toEqual([{ name: 'kept' }]);
      await d2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses TIMESCALEDB=require on the embedded database', async () => {
    const d = await openDatabase({ dataDir: 'memory://', poolMax: 1 });
    await expect(runMigrations(d, { timescale: 'require', chunkInterval: '1 day' })).rejects.toThrow(/TIMESCALEDB=require/);
    await d.close();
  });
});
