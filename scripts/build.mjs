// Compiles src/ into dist/ so that `npm start` and the `tributary` command run plain JavaScript
// (no TypeScript compiler at run time). Runs from the `prepare` script on `npm ci`/`npm install`.
// Type checking is `npm run typecheck`; this only strips types and bundles our own modules.
//   node scripts/build.mjs            JavaScript and the embedded-database seed (see pglite-seed.ts)
//   node scripts/build.mjs --js-only  JavaScript only, over the previous output (the test setup)
// The full build also builds the browser console (scripts/build-console.mjs) when Vite is installed.
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildConsole } from './build-console.mjs';
import { NODE_BUNDLE } from './esbuild-node.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const jsOnly = process.argv.includes('--js-only');
if (!jsOnly) rmSync(`${root}/dist`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // The seed writer is an entry of its own: the build runs it below, the CLI never loads it.
  entryPoints: ['src/cli.ts', 'src/storage/write-pglite-seed.ts'],
  outdir: 'dist',
  ...NODE_BUNDLE,
});
if (!jsOnly) {
  // A migrated embedded database to copy on a first start instead of running initdb.
  const { writePgliteSeed } = await import(new URL('../dist/storage/write-pglite-seed.js', import.meta.url).href);
  await writePgliteSeed();
  await buildConsole();
}
process.stdout.write(`built ${readdirSync(`${root}/dist`).filter((f) => f.endsWith('.js')).length} modules into dist/${jsOnly ? '' : ' and the PGlite seed'}\n`);
