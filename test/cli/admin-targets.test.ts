import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_MASTER_KEY } from '../helpers/test-app';
import { createTestDatabase, DRIVER, type TestDatabase } from '../helpers/test-db';
import { runCli } from '../helpers/run-cli';

// The admin CLI on an empty or wrong target must say so, not answer `[]`.
let emptyDir: string;
let dataDir: string;
let tdb: TestDatabase | undefined;
let target: Record<string, string>;

beforeAll(async () => {
  emptyDir = mkdtempSync(join(tmpdir(), 'tributary-empty-'));
  dataDir = mkdtempSync(join(tmpdir(), 'tributary-cli-'));
  if (DRIVER === 'postgres') tdb = await createTestDatabase();
  target = { DATA_DIR: dataDir, SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY, ...(tdb ? { DATABASE_URL: tdb.url!, TIMESCALEDB: 'require' } : {}) };
  const org = await runCli(['org', 'create', '--id', 'acme', '--name', 'Acme'], target);
  expect(org.code, org.stderr).toBe(0);
}, 300_000);
afterAll(async () => {
  await tdb?.drop();
  rmSync(emptyDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('admin CLI targets', { timeout: 300_000 }, () => {
  it('says there is no database in a DATA_DIR without one, and creates none', async () => {
    for (const args of [['sa', 'list', '--org', 'acme'], ['org', 'list']]) {
      const r = await runCli(args, { DATA_DIR: emptyDir, SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(JSON.parse(r.stderr)).toEqual({ level: 'error', code: 'NOT_FOUND', msg: `no database at ${join(emptyDir, 'pglite')} (DATA_DIR=${emptyDir}): start the service once or run \`tributary migrate\`` });
    }
    expect(existsSync(join(emptyDir, 'pglite'))).toBe(false);
  });

  it('says the organisation does not exist', async () => {
    const r = await runCli(['sa', 'list', '--org', 'nonexistent'], target);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({ level: 'error', code: 'NOT_FOUND', msg: 'organisation nonexistent does not exist' });
  });

  it("lists an existing organisation's service accounts", async () => {
    const r = await runCli(['sa', 'list', '--org', 'acme'], target);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
