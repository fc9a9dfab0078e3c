import { execFileSync } from 'node:child_process';

/**
 * Compiles src/ into dist/ (JavaScript only) before the run: the tests that start
 * `bin/tributary.js` as a process then run the current sources, not an older build. The browser
 * console (dist/console) is rebuilt when its sources changed since its last build.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--js-only'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-console.mjs', '--if-stale'], { stdio: 'inherit' });
}
