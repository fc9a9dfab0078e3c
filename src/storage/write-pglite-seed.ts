import { renameSync, rmSync } from 'node:fs';
import { openDatabase } from './db';
import { runMigrations } from './migrate';
import { PGLITE_SEED_DIR } from './pglite-seed';

/** Builds the seed: a new on-disk PGlite database with every migration applied, closed cleanly. */
export async function writePgliteSeed(seedDir: string = PGLITE_SEED_DIR): Promise<void> {
  const partial = `${seedDir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const database = await openDatabase({ dataDir: partial, poolMax: 1, seed: false });
  try {
    await runMigrations(database, { timescale: 'off', chunkInterval: '1 day' });
  } finally {
    await database.close();
  }
  rmSync(seedDir, { recursive: true, force: true });
  renameSync(partial, seedDir);
}
