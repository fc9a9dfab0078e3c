import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MasterKeyMismatchError } from '../../src/auth/master-key-check';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { createApp } from '../../src/server/app';
import { TEST_MASTER_KEY } from '../helpers/test-app';
import { createTestDatabase, DRIVER, type TestDatabase } from '../helpers/test-db';
import { runCli } from '../helpers/run-cli';

// Two starts on the same database: one with the key the data was created with, one with a new key.
const OTHER_KEY = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';
let tdb: TestDatabase | undefined;
let dataDir: string;
let base: Record<string, string>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tributary-key-'));
  if (DRIVER === 'postgres') {
    tdb = await createTestDatabase();
    base = { DATABASE_URL: tdb.url!, TIMESCALEDB: 'require', DATA_DIR: dataDir };
  } else {
    base = { DATA_DIR: dataDir };
  }
  const org = await runCli(['org', 'create', '--id', 'acme', '--name', 'Acme'], { ...base, SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY });
  expect(org.code, org.stderr).toBe(0);
  const sa = await runCli(['sa', 'create', '--org', 'acme', '--name', 'reader', '--grant', 'ASSET_READ'], { ...base, SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY });
  expect(sa.code, sa.stderr).toBe(0);
}, 300_000);
afterAll(async () => {
  await tdb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const configWith = (key: string) => loadConfig({ ...base, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SCHEDULER_ENABLED: 'false', SECRET_ENCRYPTION_KEY: key });

describe('master key check at start', { timeout: 300_000 }, () => {
  it('refuses to start with a key that cannot decrypt the stored secrets, and says what to do', async () => {
    const err = await createApp(configWith(OTHER_KEY), { log: createLogger('silent') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MasterKeyMismatchError);
    expect((err as Error).message).toMatch(/master key from SECRET_ENCRYPTION_KEY cannot decrypt the secrets stored in this database/);
    expect((err as Error).message).toMatch(/Start with the key this database was created with/);
  });

  it('makes `tributary serve` exit non-zero with the message instead of reporting ready', async () => {
    const r = await runCli(['serve'], { ...base, PORT: '0', HOST: '127.0.0.1', SCHEDULER_ENABLED: 'false', SECRET_ENCRYPTION_KEY: OTHER_KEY });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SECRET_ENCRYPTION_KEY cannot decrypt/);
    expect(r.stderr).not.toMatch(/"listening"/);
  });

  it('refuses `sa create` under a different key, so that no secret is sealed with it', async () => {
    const r = await runCli(['sa', 'create', '--org', 'acme', '--name', 'late', '--grant', 'ASSET_READ'], { ...base, SECRET_ENCRYPTION_KEY: OTHER_KEY });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SECRET_ENCRYPTION_KEY cannot decrypt/);
  });

  it('starts with the key the data was created with', async () => {
    const app = await createApp(configWith(TEST_MASTER_KEY), { log: createLogger('silent') });
    await app.listen();
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    await app.stop(1000);
  });
});
