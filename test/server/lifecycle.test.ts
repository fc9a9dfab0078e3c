import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { signTokenRequest } from '../../src/auth/tokens';
import { DRIVER } from '../helpers/test-db';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Starts `tributary serve` on the embedded default in a fresh DATA_DIR; resolves with its URL. */
function serve(dataDir: string): Promise<{ proc: ChildProcessWithoutNullStreams; url: string; logs: string[] }> {
  const proc = spawn(process.execPath, ['bin/tributary.js', 'serve'], { env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' } });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        logs.push(line);
        const m = /"url":"([^"]+)".*"msg":"listening"/.exec(line);
        if (m) resolve({ proc, url: m[1]!, logs });
      }
    });
    proc.stderr.on('data', (c: Buffer) => logs.push(c.toString()));
    proc.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${logs.join('\n')}`)));
  });
}

// The embedded default is the same on both drivers' runs; run it once.
describe.runIf(DRIVER === 'pglite')('tributary serve on the embedded default', () => {
  it('bootstraps an admin on an empty database, serves GraphQL and graphql-ws, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tributary-serve-'));
    dirs.push(dataDir);
    const { proc, url, logs } = await serve(dataDir);
    const credsFile = join(dataDir, 'bootstrap-credentials.json');
    expect(statSync(credsFile).mode & 0o777).toBe(0o600);
    const creds = JSON.parse(readFileSync(credsFile, 'utf8')) as { orgId: string; accessKey: string; secretKey: string };
    expect(logs.join('\n')).toContain(credsFile);
    expect(logs.join('\n')).not.toContain(creds.secretKey);

    const ts = String(Date.now());
    const tok = (await (
      await fetch(`${url}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: creds.accessKey, timestamp: ts, encryption: signTokenRequest(creds.accessKey, ts, creds.secretKey) }) })
    ).json()) as { data: { accessToken: string } };
    const me = (await (await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok.data.accessToken}` }, body: JSON.stringify({ query: '{ me { organisation { id } } }' }) })).json()) as { data: { me: { organisation: { id: string } } } };
    expect(me.data.me.organisation.id).toBe('default');

    const wsUrl = url.replace('http', 'ws') + '/graphql';
    const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { accessToken: tok.data.accessToken }, retryAttempts: 0 });
    const beats: string[] = [];
    await new Promise<void>((resolve, reject) => client.subscribe({ query: 'subscription { heartbeat(intervalMs: 100, count: 3) }' }, { next: (v) => beats.push(String((v.data as { heartbeat: string }).heartbeat)), error: reject, complete: resolve }));
    expect(beats).toHaveLength(3);
    await client.dispose();

    const refused = await new Promise<number>((resolve) => {
      const bad = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { accessToken: 'tok-bogus' }, retryAttempts: 0, on: { closed: (e) => resolve((e as { code: number }).code) } });
      bad.subscribe({ query: 'subscription { heartbeat(count: 1) }' }, { next: () => {}, error: () => {}, complete: () => {} });
    });
    expect(refused).toBe(4403);

    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs.join('\n')).toContain('"msg":"stopped"');

    // A second start on the same directory keeps the data and does not bootstrap again.
    const again = await serve(dataDir);
    expect(JSON.parse(readFileSync(credsFile, 'utf8'))).toEqual(creds);
    expect(again.logs.join('\n')).not.toContain('bootstrap admin');
    again.proc.kill('SIGTERM');
    await new Promise((r) => again.proc.once('exit', r));
  });
});

// The CLI is exercised against PostgreSQL (it needs DATABASE_URL); the embedded CLI path is the same code as `serve` above.
describe.runIf(DRIVER === 'postgres')('the admin CLI', () => {
  it('creates an organisation and a service account and prints the keys as JSON', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const run = promisify(execFile);
    const { dbUrl, withAdmin } = await import('../helpers/pg-admin');
    const name = `tributary_cli_${Date.now()}`;
    await withAdmin((s) => s.unsafe(`create database ${name}`));
    const env = { ...process.env, DATABASE_URL: dbUrl(name), SECRET_ENCRYPTION_KEY: '11'.repeat(32), LOG_LEVEL: 'warn' };
    try {
      const org = JSON.parse((await run(process.execPath, ['bin/tributary.js', 'org', 'create', '--name', 'Acme', '--id', 'o-acme'], { env })).stdout) as { id: string };
      expect(org.id).toBe('o-acme');
      const unknown = await run(process.execPath, ['bin/tributary.js', 'sa', 'create', '--org', 'o-acme', '--name', 'dev', '--grant', 'ASSET_WRITE:products=pk1|pk2', '--grant', 'REGISTRY_READ'], { env }).catch((e: { code: number; stderr: string }) => e);
      expect((unknown as { code: number }).code).toBe(1);
      expect((unknown as { stderr: string }).stderr).toContain('do not exist in this organisation: productKeys pk1, pk2');
      const sa = JSON.parse((await run(process.execPath, ['bin/tributary.js', 'sa', 'create', '--org', 'o-acme', '--name', 'dev', '--grant', 'ASSET_WRITE', '--grant', 'REGISTRY_READ'], { env })).stdout) as { accessKey: string; secretKey: string; grants: unknown[] };
      expect(sa.accessKey).toMatch(/^ak-/);
      expect(sa.secretKey).toMatch(/^sk-/);
      expect(sa.grants).toEqual([{ permission: 'ASSET_WRITE' }, { permission: 'REGISTRY_READ' }]);
      const list = JSON.parse((await run(process.execPath, ['bin/tributary.js', 'sa', 'list', '--org', 'o-acme'], { env })).stdout) as { accessKey: string }[];
      expect(JSON.stringify(list)).not.toContain(sa.secretKey);
      const disabled = JSON.parse((await run(process.execPath, ['bin/tributary.js', 'sa', 'disable', '--org', 'o-acme', '--access-key', sa.accessKey], { env })).stdout) as { enabled: boolean };
      expect(disabled.enabled).toBe(false);
      const bad = await run(process.execPath, ['bin/tributary.js', 'sa', 'create', '--org', 'o-acme', '--name', 'x', '--grant', 'NOPE'], { env }).catch((e: { code: number; stderr: string }) => e);
      expect((bad as { code: number }).code).toBe(1);
      expect((bad as { stderr: string }).stderr).toContain('invalid grants');
    } finally {
      await withAdmin((s) => s.unsafe(`drop database if exists ${name} with (force)`));
    }
    // NOTE: eight CLI processes, each starting tsx and opening the database: slow on a loaded machine.
  }, 180_000);

  it('lists every bad configuration key and exits non-zero', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const r = await promisify(execFile)(process.execPath, ['bin/tributary.js', 'migrate'], { env: { ...process.env, PORT: 'x', TOKEN_TTL_S: '1' } }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toMatch(/PORT.*TOKEN_TTL_S/);
  });
});
