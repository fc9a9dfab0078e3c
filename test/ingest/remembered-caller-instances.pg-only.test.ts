import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type Database } from '../../src/storage/db';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { POST_POINTS, setupDevices } from './fixtures';

/* A revocation made through one instance takes effect at once on another that remembers the caller. */

let t1: TestApp;
let t2: TestApp;
let db2: Database;
let admin: Tenant;
let assets: string[];
const T0 = 1_700_000_000_000;

beforeAll(async () => {
  t1 = await startTestApp();
  // NOTE: a second instance with its own connection pool on the same database.
  db2 = await openDatabase({ url: t1.tdb.url, dataDir: '', poolMax: 5 });
  t2 = await startTestApp({}, { tdb: { ...t1.tdb, database: db2, drop: async () => {} } });
  admin = await t1.tenant('o-caller-multi');
  assets = await setupDevices(t1, admin, 'pkCallerMulti', 1);
});
afterAll(async () => {
  await t2.close();
  await db2.close();
  await t1.close();
});

describe('callers remembered by ingest, across instances', () => {
  it('refuses ingest on an instance that remembers the token once another instance disabled its account', async () => {
    const sa = await t1.tenant('o-caller-multi', [{ permission: 'ASSET_WRITE' }]);
    const post = (time: number) => t2.gql(sa.token, POST_POINTS, { items: [{ assetId: assets[0], time, values: { i: 1 } }] });
    expect((await post(T0)).errors).toBeUndefined();
    expect((await post(T0 + 1)).errors).toBeUndefined();
    expect((await t1.gql(admin.token, 'mutation($s: ID!) { disableServiceAccount(accessKey: $s) { enabled } }', { s: sa.accessKey })).errors).toBeUndefined();
    const r = await post(T0 + 2);
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('UNAUTHENTICATED');
    expect((await queryRows<{ n: number }>(t1.db, sql`select count(*)::int as n from point_data where time = ${new Date(T0 + 2).toISOString()}::timestamptz`))[0]?.n).toBe(0);
  });
});
