import { cpSync, existsSync, readdirSync } from 'node:fs';
import { packagePath } from '../package-root';

/**
 * An embedded (PGlite) data folder, initialised and migrated, that the build (`npm ci`) writes.
 * Creating a database from scratch runs PostgreSQL's initdb inside WebAssembly, most of a first
 * start (5 to 10 s here); copying this folder takes a fraction of a second. The build makes it
 * with the installed PGlite and migrations, so it always matches them; migrations added later
 * still run on top, as on any existing database.
 */
export const PGLITE_SEED_DIR = packagePath('dist', 'pglite-seed');

/**
 * Fills an absent or empty `dataDir` with a copy of the seed. Returns false (PGlite then runs
 * initdb itself) when the folder already holds something or no seed was built, as when running
 * from the TypeScript sources.
 */
export function copyPgliteSeed(dataDir: string, seedDir: string = PGLITE_SEED_DIR): boolean {
  if (!existsSync(`${seedDir}/PG_VERSION`)) return false;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return false;
  cpSync(seedDir, dataDir, { recursive: true });
  return true;
}
