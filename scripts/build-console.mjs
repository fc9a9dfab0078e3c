// Builds the browser console (console/, Vite + React) into dist/console, which the service
// serves at /console. Its build tools are dev dependencies: without them (`npm ci --omit=dev`)
// the console is skipped and /console says how to build it.
//   node scripts/build-console.mjs            build
//   node scripts/build-console.mjs --if-stale build only when a source is newer than the output
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'dist', 'console');

/** Newest modification time (ms) of the files under `dir`. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether dist/console is missing or older than console/ or the lock file. */
export function isConsoleStale() {
  const index = join(outDir, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return newestMtime(join(root, 'console')) > built || statSync(join(root, 'package-lock.json')).mtimeMs > built;
}

/**
 * Builds the console; returns false (and says why) when Vite is not installed. The output is
 * written beside dist/console and moved into place, so a server never sees half a build.
 */
export async function buildConsole({ ifStale = false } = {}) {
  if (ifStale && !isConsoleStale()) return true;
  let vite;
  try {
    vite = await import('vite');
  } catch {
    process.stdout.write('console not built: its build tools (dev dependencies) are not installed\n');
    return false;
  }
  const tmp = `${outDir}.tmp-${process.pid}`;
  await vite.build({ root: join(root, 'console'), configFile: join(root, 'console', 'vite.config.ts'), logLevel: 'warn', build: { outDir: tmp, emptyOutDir: true } });
  rmSync(outDir, { recursive: true, force: true });
  try {
    renameSync(tmp, outDir);
  } catch (e) {
    // Another build (a parallel test setup) moved its output into place first: keep that one.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(outDir, 'index.html'))) throw e;
  }
  process.stdout.write('built the console into dist/console\n');
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildConsole({ ifStale: process.argv.includes('--if-stale') });
}
