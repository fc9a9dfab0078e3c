import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/storage/db';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { sdkPost } from '../rest/fixtures';
import { POST_POINTS, setupDevices } from './fixtures';

/*
 * An ingest call whose token this instance has seen starts from the caller as last confirmed,
 * and the write transaction confirms it before writing: a revoked token or a narrowed grant must
 * still take effect on the very next call, over GraphQL and the EnOS REST API alike.
 */

let t: TestApp;
let admin: Tenant;
let assets: string[];
const T0 = 1_700_000_000_000;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.tenant('o-caller');
  assets = await setupDevices(t, admin, 'pkCaller', 2);
});
afterAll(() => t.close());

const writer = () => t.tenant('o-caller', [{ permission: 'ASSET_WRITE' }]);
const gqlPost = (tenant: Tenant, time: number) => t.gql(tenant.token, POST_POINTS, { items: [{ assetId: assets[0], time, values: { i: 1 } }] });
const restPost = (tenant: Tenant, time: number) => sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: assets[1], time, measurepoints: { i: 1 } }]);
const restCode = (r: Awaited<ReturnType<typeof restPost>>) => (JSON.parse(r.body.toString()) as { code: number }).code;
const storedAt = async (time: number) => (await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data where time = ${new Date(time).toISOString()}::timestamptz`))[0]?.n;

describe('callers remembered by ingest', () => {
  for (const action of ['disableServiceAccount(accessKey: $s) { enabled }', 'rotateServiceAccountSecret(accessKey: $s) { accessKey }', 'deleteServiceAccount(accessKey: $s)']) {
    it(`refuses the next call at once, storing nothing, after ${action.split('(')[0]}`, async () => {
      const sa = await writer();
      const base = T0 + Math.floor(Math.random() * 1e9);
      expect((await gqlPost(sa, base)).errors).toBeUndefined();
      expect(restCode(await restPost(sa, base))).toBe(0);
      expect((await t.gql(admin.token, `mutation($s: ID!) { ${action} }`, { s: sa.accessKey })).errors).toBeUndefined();
      const g = await gqlPost(sa, base + 1);
      expect(g.status).toBe(401);
      expect(errorCode(g)).toBe('UNAUTHENTICATED');
      const r = await restPost(sa, base + 1);
      expect(r.status).toBe(401);
      expect(await storedAt(base + 1)).toBe(0);
    });
  }

  it('applies a narrowed grant to the next call at once', async () => {
    const sa = await writer();
    expect((await gqlPost(sa, T0 + 10)).errors).toBeUndefined();
    expect(restCode(await restPost(sa, T0 + 10))).toBe(0);
    const g = await t.gql(admin.token, 'mutation($s: ID!, $g: [GrantInput!]!) { updateServiceAccountGrants(accessKey: $s, grants: $g) { accessKey } }', { s: sa.accessKey, g: [{ permission: 'ASSET_READ' }] });
    expect(g.errors).toBeUndefined();
    expect(errorCode(await gqlPost(sa, T0 + 11))).toBe('FORBIDDEN');
    expect(restCode(await restPost(sa, T0 + 11))).not.toBe(0);
    expect(await storedAt(T0 + 11)).toBe(0);
  });

  it('stores every one of many concurrent calls of a remembered caller', async () => {
    const sa = await writer();
    expect((await gqlPost(sa, T0 + 100)).errors).toBeUndefined();
    const results = await Promise.all(Array.from({ length: 30 }, (_, k) => t.gql(sa.token, POST_POINTS, { items: [{ assetId: assets[k % 2], time: T0 + 200 + k, values: { i: k } }] })));
    for (const r of results) expect(r.errors).toBeUndefined();
    expect((await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data where time >= ${new Date(T0 + 200).toISOString()}::timestamptz and time < ${new Date(T0 + 230).toISOString()}::timestamptz`))[0]?.n).toBe(30);
  });
});
