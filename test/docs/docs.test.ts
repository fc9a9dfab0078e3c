/**
 * The documentation is tested: the README walkthrough and every runnable example under docs/
 * run against a fresh instance, and what they print must match what the page shows. The
 * convention for pages is in ./markdown-examples.ts and in docs/architecture.md.
 *
 * Each page gets its own instance (embedded PGlite or a PostgreSQL database cloned from the test
 * template, as the rest of the suite), started as `npm start` would on an empty data directory:
 * the bootstrap keys are written to ./data/bootstrap-credentials.json in the working directory
 * of the examples. Pages under docs/ continue the README walkthrough, so its blocks run first.
 *
 * DOCS_RECORD=<file> writes what every block printed to that file (for writing a new page).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { createApp } from '../../src/server/app';
import { TEST_MASTER_KEY } from '../helpers/test-app';
import { DRIVER, createTestDatabase } from '../helpers/test-db';
import { diffOutput, readExamples, type Example } from './markdown-examples';

const ROOT = resolve(__dirname, '../..');
const BLOCK_TIMEOUT_MS = 60_000;

function pagesWithExamples(): string[] {
  const docs = existsSync(join(ROOT, 'docs')) ? readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`) : [];
  return ['README.md', ...docs.sort()].filter((p) => readExamples(readFileSync(join(ROOT, p), 'utf8')).length > 0);
}

/** Runs one block in bash, with the variables and functions the blocks before it left in `state`. */
function runBlock(body: string, workDir: string, state: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = [
    'set -a',
    `[ -f ${JSON.stringify(state)} ] && source ${JSON.stringify(state)}`,
    `cd ${JSON.stringify(workDir)}`,
    'set -eo pipefail',
    body,
    `{ export -p; declare -f; } > ${JSON.stringify(state)}`,
  ].join('\n');
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', script], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

async function runPage(page: string): Promise<string[]> {
  const tdb = await createTestDatabase();
  const workDir = mkdtempSync(join(tmpdir(), 'tributary-docs-'));
  mkdirSync(join(workDir, 'data'));
  // The examples run from a clone's root: scripts/ is there.
  symlinkSync(join(ROOT, 'scripts'), join(workDir, 'scripts'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: join(workDir, 'data'),
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY,
    TIMESCALEDB: DRIVER === 'postgres' ? 'require' : 'auto',
    SCHEDULER_ENABLED: 'false',
    ...(tdb.url ? { DATABASE_URL: tdb.url } : {}),
  });
  const app = await createApp(config, { log: createLogger(config.LOG_LEVEL), database: tdb.database, bootstrap: true });
  const url = await app.listen();
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: workDir, LANG: 'C.UTF-8', TZ: 'UTC', TRIBUTARY: url };
  const state = join(workDir, '.doc-state.sh');
  const record = process.env['DOCS_RECORD'];
  const problems: string[] = [];
  const examples: Array<Example & { page: string; compare: boolean }> = [];
  if (page !== 'README.md') for (const e of readExamples(readFileSync(join(ROOT, 'README.md'), 'utf8'))) examples.push({ ...e, page: 'README.md', compare: false });
  for (const e of readExamples(readFileSync(join(ROOT, page), 'utf8'))) examples.push({ ...e, page, compare: true });
  try {
    for (const ex of examples) {
      const where = `${ex.page}:${ex.run.line}`;
      const r = await runBlock(ex.run.body, workDir, state, env);
      if (record) appendFileSync(record, `\n### ${where} (exit ${r.code})\n${r.stdout}${r.stderr ? `\n--- stderr\n${r.stderr}` : ''}\n`);
      if (r.code !== 0) {
        problems.push(`${where}: exited with ${r.code}\n${r.stderr}${r.stdout}`);
        continue;
      }
      if (ex.compare && ex.expected) {
        const d = diffOutput(ex.expected, r.stdout);
        if (d) problems.push(`${where}: the output differs from the page (line ${ex.expected.line}): ${d}`);
      }
    }
  } finally {
    await app.stop(1000);
    await tdb.drop();
    rmSync(workDir, { recursive: true, force: true });
  }
  return problems;
}

describe('documentation examples', () => {
  for (const page of pagesWithExamples()) {
    it(`${page} runs as written against a fresh instance`, async () => {
      const problems = await runPage(page);
      expect(problems, problems.join('\n\n')).toEqual([]);
    }, 240_000);
  }
});
