// Runs a benchmark on the service as users run it: the bench and the modules it imports are
// compiled by esbuild as `npm run build` compiles dist/ (plain JavaScript, no run-time TypeScript
// transform, whose keep-names wrappers cost a few percent of a busy service's CPU), and run by
// node in production mode.
//   node scripts/run-bench.mjs [node flags] bench/<name>.ts [arguments]
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { NODE_BUNDLE } from './esbuild-node.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const at = args.findIndex((a) => !a.startsWith('-'));
if (at < 0) {
  process.stderr.write('usage: node scripts/run-bench.mjs [node flags] bench/<name>.ts [arguments]\n');
  process.exit(2);
}
const nodeFlags = args.slice(0, at);
const entry = args[at];
const outdir = `${root}/node_modules/.cache/tributary-bench`;
await build({
  absWorkingDir: root,
  entryPoints: [entry],
  outdir,
  ...NODE_BUNDLE,
});
const compiled = `${outdir}/${basename(entry).replace(/\.ts$/, '.js')}`;
const child = spawn(process.execPath, ['--enable-source-maps', ...nodeFlags, compiled, ...args.slice(at + 1)], {
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production' },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
