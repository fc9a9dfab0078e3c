import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signTokenRequest } from '../../src/auth/tokens';
import { createSpoolDir, releaseSpoolDir, removeSpoolLeftovers } from '../../src/files/spool-dir';
import { TEST_MASTER_KEY } from '../helpers/test-app';
import { DRIVER } from '../helpers/test-db';

const BIN = resolve(__dirname, '../../bin/tributary.js');
const root = mkdtempSync(join(tmpdir(), 'tributary-spool-cleanup-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const host = hostname().replace(/[^A-Za-z0-9_]/g, '_') || 'host';
const HOUR_MS = 3_600_000;

function leftover(name: string, ageMs = 0): string {
  const dir = join(root, 'rules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'part-1'), 'spooled bytes');
  const t = new Date(Date.now() - ageMs);
  utimesSync(join(dir, 'part-1'), t, t);
  utimesSync(dir, t, t);
  return dir;
}

const waitFor = async (cond: () => boolean, ms: number) => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
};

// The spool does not depend on the database, and the child services open their own embedded
// one: run it once, in the PGlite run.
describe.runIf(DRIVER === 'pglite')('cleaning the upload spool directory', () => {
  it('removes only what dead processes left and never a directory in use', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    const dead = leftover(`tributary-enos-${host}.${deadPid}-aaaaaa`);
    const liveOther = leftover(`tributary-enos-${host}.${process.ppid}-bbbbbb`, 2 * HOUR_MS);
    const formerSelf = leftover(`tributary-enos-${host}.${process.pid}-cccccc`, (process.uptime() + 60) * 1000);
    const otherHostRecent = leftover('tributary-enos-elsewhere.12-dddddd', 60_000);
    const otherHostOld = leftover('tributary-enos-elsewhere.12-eeeeee', 2 * HOUR_MS);
    const legacyOld = leftover('tributary-enos-ffffff', 2 * HOUR_MS);
    const unrelated = leftover('someone-elses-upload', 2 * HOUR_MS);
    const inFlight = await createSpoolDir(join(root, 'rules'));
    writeFileSync(join(inFlight, 'part-1'), 'being written');

    expect(await removeSpoolLeftovers(join(root, 'rules'), HOUR_MS)).toBe(4);
    expect([dead, formerSelf, otherHostOld, legacyOld].map(existsSync)).toEqual([false, false, false, false]);
    expect([liveOther, otherHostRecent, unrelated, inFlight].map(existsSync)).toEqual([true, true, true, true]);

    // Even with no age limit at all, a directory in use stays.
    await removeSpoolLeftovers(join(root, 'rules'), 0);
    expect(existsSync(inFlight)).toBe(true);
    await releaseSpoolDir(inFlight);
    expect(existsSync(inFlight)).toBe(false);
  });

  it('removes the spool file of an upload cut by kill -9 when the service starts again', { timeout: 240_000 }, async () => {
    const dataDir = join(root, 'data');
    const spool = join(root, 'spool');
    mkdirSync(spool, { recursive: true });
    const env = (() => {
      const { DATABASE_URL: _u, TEST_DRIVER: _d, ...rest } = process.env;
      return { ...rest, DATA_DIR: dataDir, UPLOAD_TMP_DIR: spool, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY, SCHEDULER_ENABLED: 'false' };
    })();
    const start = () =>
      new Promise<{ child: ChildProcess; url: string }>((ok, fail) => {
        const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        children.add(child);
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/.exec(out);
          if (m) ok({ child, url: m[1]! });
        });
        child.once('exit', (code) => fail(new Error(`service exited with ${code}: ${out}`)));
      });

    const first = await start();
    const keys = JSON.parse(readFileSync(join(dataDir, 'bootstrap-credentials.json'), 'utf8')) as { orgId: string; accessKey: string; secretKey: string };
    const timestamp = String(Date.now());
    const tokenRes = await fetch(`${first.url}/apim-token-service/v2.0/token/get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: keys.accessKey, encryption: signTokenRequest(keys.accessKey, timestamp, keys.secretKey), timestamp }),
    });
    const token = ((await tokenRes.json()) as { data: { accessToken: string } }).data.accessToken;

    // An upload whose body never ends: its file part is being spooled when the process dies.
    const boundary = 'spoolcleanupboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="enos-message"\r\n\r\n{"method":"integration.measurepoint.post","id":"1","version":"1.1","params":[],"files":{}}\r\n--${boundary}\r\nContent-Disposition: form-data; name="enos-file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const req = request(`${first.url}/connect-service/v2.1/integration?action=postMeasurepoint&orgId=${keys.orgId}`, {
      method: 'POST',
      headers: { 'apim-accesstoken': token, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + 10_000_000) },
    });
    req.on('error', () => {});
    req.write(head);
    req.write(Buffer.alloc(256 * 1024, 1));
    const spooled = () => readdirSync(spool).filter((n) => n.startsWith('tributary-enos-'));
    expect(await waitFor(() => spooled().some((n) => readdirSync(join(spool, n)).length > 0), 30_000)).toBe(true);
    const [left] = spooled();

    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    req.destroy();
    expect(existsSync(join(spool, left!))).toBe(true);

    const next = await start();
    expect(await waitFor(() => !existsSync(join(spool, left!)), 10_000)).toBe(true);
    next.child.kill('SIGTERM');
    await new Promise((r) => next.child.once('exit', r));
  });
});
