import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_MASTER_KEY } from '../helpers/test-app';
import { DRIVER } from '../helpers/test-db';

/** Real processes on one embedded data directory: the CLI as users run it (bin/tributary.js). */
const BIN = resolve(__dirname, '../../bin/tributary.js');
const dataDir = mkdtempSync(join(tmpdir(), 'tributary-lock-'));
const lockFile = join(dataDir, 'pglite.lock');
const children = new Set<ChildProcess>();

function env(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _url, TEST_DRIVER: _driver, ...rest } = process.env;
  return { ...rest, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY, SCHEDULER_ENABLED: 'false', NODE_ENV: 'production' };
}

/** Starts `tributary serve` and resolves with its URL once it listens. */
function startService(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  return new Promise((resolveStart, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/.exec(out);
      if (m) resolveStart({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`service exited with ${code}: ${err}${out}`)));
  });
}

/** Runs the CLI to completion. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, stdout, stderr })));
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

// The lock concerns only the embedded database and its child processes open their own: run it
// once, in the PGlite run.
describe.runIf(DRIVER === 'pglite')('one process at a time on an embedded data directory', () => {
  it('refuses the CLI and a second service while one serves, and takes over the lock of a killed one', { timeout: 240_000 }, async () => {
    const first = await startService();
    const cli = await runCli(['sa', 'create', '--org', 'default', '--name', 'second-writer', '--grant', 'ASSET_READ']);
    expect(cli.code).not.toBe(0);
    expect(cli.stdout).not.toContain('secretKey');
    expect(cli.stderr).toContain(`in use by process ${first.child.pid}`);
    expect(cli.stderr).toContain(`curl -s ${first.url}/graphql`);
    expect(cli.stderr).toContain('createServiceAccount');
    const holder = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number; url: string };
    expect(holder.pid).toBe(first.child.pid);
    expect(holder.url).toBe(first.url);

    const second = spawn(process.execPath, [BIN, 'serve'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(second);
    let secondErr = '';
    second.stderr!.on('data', (d: Buffer) => (secondErr += d.toString()));
    const secondCode = await new Promise<number | null>((r) => second.once('exit', (code) => r(code)));
    expect(secondCode).not.toBe(0);
    expect(secondErr).toContain(`in use by process ${first.child.pid}`);
    // The first service is untouched and keeps serving.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);

    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(existsSync(lockFile)).toBe(true);

    const next = await startService();
    expect((JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid).toBe(next.child.pid);
    expect((await fetch(`${next.url}/healthz`)).status).toBe(200);
    next.child.kill('SIGTERM');
    await exited(next.child);
    expect(next.child.exitCode).toBe(0);
    expect(existsSync(lockFile)).toBe(false);

    // With the service stopped the CLI works, and what it writes is kept.
    const created = await runCli(['sa', 'create', '--org', 'default', '--name', 'after-stop', '--grant', 'ASSET_READ']);
    expect(created.code, created.stderr).toBe(0);
    const accessKey = (JSON.parse(created.stdout) as { accessKey: string }).accessKey;
    expect(existsSync(lockFile)).toBe(false);
    const listed = await runCli(['sa', 'list', '--org', 'default']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(accessKey);
  });
});
