import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { seedFleet, type Fleet } from '../fixtures/seed-data';

const T0 = Date.UTC(2026, 0, 10, 0, 0, 0);
const MIN = 60_000;

let t: TestApp;
let admin: Tenant;
let other: Tenant;
let fleet: Fleet;
let otherFleet: Fleet;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.tenant('o-ends');
  other = await t.tenant('o-ends-other');
  fleet = await seedFleet(t.db, 'o-ends', { productKey: 'ends-inv', count: 2 });
  otherFleet = await seedFleet(t.db, 'o-ends-other', { productKey: 'ends-other-inv', count: 1 });
});
afterAll(() => t.close());

const POST = 'mutation($items: [PointsItemInput!]!, $channel: Channel) { postMeasurePoints(items: $items, channel: $channel) { accepted } }';
const CREATE_SA = 'mutation($g: [GrantInput!]!) { createServiceAccount(name: "scoped", grants: $g) { accessKey } }';

describe('the Mutation root', () => {
  it('has no placeholder field', async () => {
    const r = await t.gql(admin.token, '{ __type(name: "Mutation") { fields { name } } }');
    expect(r.data!.__type.fields.map((f: { name: string }) => f.name)).not.toContain('_noop');
    const call = await t.gql(admin.token, 'mutation { _noop }');
    expect(errorCode(call)).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('PointValue.offline', () => {
  it('flags backfilled values in history and leaves real-time ones unflagged', async () => {
    const assetId = fleet.devices[0]!.assetId;
    const rt = await t.gql(admin.token, POST, { items: [{ assetId, time: T0 + 2 * MIN, values: { power: 2 } }] });
    expect(rt.errors).toBeUndefined();
    const off = await t.gql(admin.token, POST, { channel: 'OFFLINE', items: [{ assetId, time: T0 + MIN, values: { power: 1 } }] });
    expect(off.errors).toBeUndefined();
    const h = await t.gql(admin.token, 'query($a: ID!) { pointHistory(devices: { assetIds: [$a] }, points: ["power"], from: 0, to: 9999999999999) { edges { node { time value offline } } } }', { a: assetId });
    expect(h.errors).toBeUndefined();
    expect(h.data!.pointHistory.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { time: T0 + MIN, value: 1, offline: true },
      { time: T0 + 2 * MIN, value: 2, offline: false },
    ]);
    const latest = await t.gql(admin.token, 'query($a: ID!) { latestValues(devices: { assetIds: [$a] }, points: ["power"]) { value offline } }', { a: assetId });
    expect(latest.data!.latestValues).toEqual([{ value: 2, offline: false }]);
  });
});

describe('grants naming unknown products or devices', () => {
  it('refuses a grant with unknown assetIds and productKeys, listing them', async () => {
    const r = await t.gql(admin.token, CREATE_SA, { g: [{ permission: 'ASSET_READ', assetIds: [fleet.devices[0]!.assetId, 'no-such-asset'] }, { permission: 'REGISTRY_READ', productKeys: ['ends-inv', 'no-such-product'] }] });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toBe('grants name products or devices that do not exist in this organisation: productKeys no-such-product; assetIds no-such-asset');
    expect(r.errors![0]!.extensions!.details).toEqual({ unknownProductKeys: ['no-such-product'], unknownAssetIds: ['no-such-asset'] });
  });

  it("treats another organisation's devices and products as unknown, without saying they exist", async () => {
    const r = await t.gql(admin.token, CREATE_SA, { g: [{ permission: 'ASSET_READ', assetIds: [otherFleet.devices[0]!.assetId], productKeys: ['ends-other-inv'] }] });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions!.details).toEqual({ unknownProductKeys: ['ends-other-inv'], unknownAssetIds: [otherFleet.devices[0]!.assetId] });
    const missing = await t.gql(admin.token, CREATE_SA, { g: [{ permission: 'ASSET_READ', assetIds: ['never-existed'] }] });
    expect(missing.errors![0]!.message).toBe(r.errors![0]!.message.replace(/: .*$/, ': assetIds never-existed'));
    const own = await t.gql(other.token, CREATE_SA, { g: [{ permission: 'ASSET_READ', assetIds: [otherFleet.devices[0]!.assetId], productKeys: ['ends-other-inv'] }] });
    expect(own.errors).toBeUndefined();
  });

  it('refuses the same on updateServiceAccountGrants, and accepts grants on existing keys', async () => {
    const ok = await t.gql(admin.token, CREATE_SA, { g: [{ permission: 'ASSET_READ', assetIds: [fleet.devices[1]!.assetId], productKeys: ['ends-inv'] }] });
    expect(ok.errors).toBeUndefined();
    const accessKey = ok.data!.createServiceAccount.accessKey as string;
    const r = await t.gql(admin.token, 'mutation($k: ID!, $g: [GrantInput!]!) { updateServiceAccountGrants(accessKey: $k, grants: $g) { accessKey } }', { k: accessKey, g: [{ permission: 'ASSET_WRITE', productKeys: ['typo-inv'] }] });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions!.details).toEqual({ unknownProductKeys: ['typo-inv'] });
  });
});
