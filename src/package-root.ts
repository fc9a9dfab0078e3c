import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder: the nearest folder above this module whose package.json is
 * Tributary's. Found by walking up rather than by a fixed `../..` because the same module runs
 * from `src/` (tests, tsx) and bundled into `dist/` (npm start, the CLI), at different depths.
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tributary') return dir;
    if (dirname(dir) === dir) throw new Error(`tributary's package.json not found above ${from}`);
  }
}

/** Absolute path of the package root (the folder holding package.json, schema/ and drizzle/). */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** Absolute path of a file or folder shipped with the package, e.g. `packagePath('drizzle')`. */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}
