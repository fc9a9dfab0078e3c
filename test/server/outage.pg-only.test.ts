import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganisation, createServiceAccount } from '../../src/auth/service-accounts';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { createApp, type App } from '../../src/server/app';
import { ALL_GRANTS, TEST_MASTER_KEY } from '../helpers/test-app';
import { createTestDatabase, type TestDatabase } from '../helpers/test-db';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { signTokenRequest } from '../../src/auth/tokens';

// The instance reaches its database through a proxy the test cuts; the shared server keeps running.
let tdb: TestDatabase;
let proxy: TcpProxy;
let app: App;
let token: string;
let dataDir: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  const target = new URL(tdb.url!);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const viaProxy = new URL(tdb.url!);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  dataDir = mkdtempSync(join(tmpdir(), 'tributary-outage-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent', SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY, SCHEDULER_ENABLED: 'false', DATABASE_URL: viaProxy.toString(), DB_CONNECT_TIMEOUT_MS: '1000' });
  app = await createApp(config, { log: createLogger(process.env['TEST_LOG_LEVEL'] === 'error' ? 'error' : 'silent'), bootstrap: false });
  await app.listen();
  await createOrganisation(app.deps.db, { id: 'o-outage', name: 'Outage' });
  const { serviceAccount, secretKey } = await createServiceAccount(app.deps.db, app.deps.box, { orgId: 'o-outage', name: 'sa', grants: ALL_GRANTS });
  const timestamp = String(Date.now());
  const res = await fetch(`${app.url}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: serviceAccount.accessKey, encryption: signTokenRequest(serviceAccount.accessKey, timestamp, secretKey), timestamp }) });
  token = ((await res.json()) as { data: { accessToken: string } }).data.accessToken;
});
afterAll(async () => {
  proxy.set('up');
  await app.stop(500);
  await proxy.close();
  await tdb.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const query = () => fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: '{ me { organisation { id } } }' }) });
const ingest = () =>
  fetch(`${app.url}/connect-service/v2.1/measurepoints?orgId=o-outage`, { method: 'POST', headers: { 'content-type': 'application/json', 'apim-accesstoken': token }, body: JSON.stringify({ action: 'post', params: { measurepoints: [] } }) });

/** Elapsed ms of `fn`. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const r = await fn();
  return [r, Date.now() - started];
}

describe('database outage', () => {
  it('answers 503 with Retry-After within seconds on both transports while the database is unreachable, and recovers without a restart', async () => {
    expect((await query()).status).toBe(200);
    proxy.set('down');
    const [first, firstMs] = await timed(query);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(((await first.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(firstMs).toBeLessThan(5_000);
    // Later requests fail fast without waiting for a connection.
    const [rest, restMs] = await timed(ingest);
    expect(rest.status).toBe(503);
    expect(rest.headers.get('retry-after')).toBe('1');
    expect(((await rest.json()) as { code: number }).code).toBe(99503);
    expect(restMs).toBeLessThan(500);
    const [ready, readyMs] = await timed(() => fetch(`${app.url}/readyz`));
    expect(ready.status).toBe(503);
    expect(readyMs).toBeLessThan(1_000);

    proxy.set('up');
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await query()).status;
    }
    expect(status).toBe(200);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
  });

  it('answers /readyz within 1 s while the database accepts connections but never answers', async () => {
    proxy.set('stalled');
    const [ready, readyMs] = await timed(() => fetch(`${app.url}/readyz`));
    expect(ready.status).toBe(503);
    expect(readyMs).toBeLessThan(1_000);
    proxy.set('up');
  });
});
