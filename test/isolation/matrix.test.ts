import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_GRANTS, errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { createOrgFixtures, grantsWithout } from './fixtures';
import { graphqlOperations } from './operations';

/*
 * The isolation matrix: two organisations; every operation is tried by
 * (1) an SA of the owning organisation holding exactly the needed permission: allowed;
 * (2) an SA of the owning organisation holding every other permission: FORBIDDEN;
 * (3) an all-powerful SA of another organisation aimed at the owner's objects: NOT_FOUND,
 *     or (for listings) a result that mentions none of the owner's objects;
 * (4) no token: HTTP 401 UNAUTHENTICATED.
 */
let t: TestApp;
let adminA: Tenant;
let adminB: Tenant;
beforeAll(async () => {
  t = await startTestApp();
  adminA = await t.tenant('o-iso-a');
  adminB = await t.tenant('o-iso-b');
});
afterAll(() => t.close());

describe.each(graphqlOperations)('$name ($permission)', (op) => {
  it('is allowed for an SA of the organisation with the permission', async () => {
    const f = await createOrgFixtures(t);
    const sa = await t.tenant(f.orgId, [op.permission, ...(op.alsoNeeds ?? [])].map((permission) => ({ permission })));
    const r = await t.gql(sa.token, op.query, op.vars(f));
    expect(r.errors ?? []).toEqual([]);
  });

  it('is FORBIDDEN without the permission', async () => {
    const f = await createOrgFixtures(t);
    const sa = await t.tenant(f.orgId, grantsWithout(op.permission));
    const r = await t.gql(sa.token, op.query, op.vars(f));
    expect(errorCode(r)).toBe('FORBIDDEN');
  });

  // Creating and importing target nothing of another organisation (op.crossOrg = false).
  it.runIf(op.crossOrg !== false)("cannot see or change another organisation's objects", async () => {
    const f = await createOrgFixtures(t);
    const other = await t.tenant('o-iso-b', ALL_GRANTS);
    const r = await t.gql(other.token, op.query, op.vars(f));
    if (r.errors?.length) expect(errorCode(r)).toBe('NOT_FOUND');
    const text = JSON.stringify(r.data ?? {});
    for (const m of f.markers) expect(text).not.toContain(m);
    // The owner's objects are unchanged and still there.
    const owner = await t.tenant(f.orgId, ALL_GRANTS);
    const still = await t.gql(owner.token, 'query($a: ID!) { device(assetId: $a) { name } }', { a: f.assetId });
    expect(still.data?.device?.name).toBe('iso device');
  });

  it('is UNAUTHENTICATED without a token', async () => {
    const f = await createOrgFixtures(t);
    const r = await t.gql(undefined, op.query, op.vars(f));
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('UNAUTHENTICATED');
  });
});

describe('device-scoped grants', () => {
  it('limits device listings and lookups to the granted products and devices', async () => {
    const f1 = await createOrgFixtures(t, adminA);
    const f2 = await createOrgFixtures(t, adminA);
    const scoped = await t.tenant('o-iso-a', [{ permission: 'REGISTRY_READ', productKeys: [f1.productKey] }]);
    const list = await t.gql(scoped.token, '{ devices { edges { node { assetId } } } }');
    const ids = list.data!.devices.edges.map((e: { node: { assetId: string } }) => e.node.assetId);
    expect(ids).toContain(f1.assetId);
    expect(ids).not.toContain(f2.assetId);
    const hidden = await t.gql(scoped.token, 'query($a: ID!) { device(assetId: $a) { assetId } }', { a: f2.assetId });
    expect(errorCode(hidden)).toBe('NOT_FOUND');
    const byAsset = await t.tenant('o-iso-a', [{ permission: 'REGISTRY_READ', assetIds: [f2.assetId] }]);
    const one = await t.gql(byAsset.token, '{ devices { totalCount } }');
    expect(one.data!.devices.totalCount).toBe(1);
  });

  it('refuses a scoped REGISTRY_FULL grant outside its products', async () => {
    const f1 = await createOrgFixtures(t, adminA);
    const f2 = await createOrgFixtures(t, adminA);
    const scoped = await t.tenant('o-iso-a', [{ permission: 'REGISTRY_FULL', productKeys: [f1.productKey] }]);
    const ok = await t.gql(scoped.token, 'mutation($a: ID!) { updateDevice(device: { assetId: $a }, input: { name: "mine" }) { name } }', { a: f1.assetId });
    expect(ok.data!.updateDevice.name).toBe('mine');
    const r = await t.gql(scoped.token, 'mutation($a: ID!) { deleteDevice(device: { assetId: $a }) }', { a: f2.assetId });
    expect(errorCode(r)).toBe('NOT_FOUND');
  });

  it('keeps registry grants from device data outside a device-scoped data grant', async () => {
    const f1 = await createOrgFixtures(t, adminA);
    const f2 = await createOrgFixtures(t, adminA);
    const reader = await t.tenant('o-iso-a', [{ permission: 'REGISTRY_READ' }, { permission: 'ASSET_READ', assetIds: [f2.assetId] }]);
    const read = await t.gql(reader.token, 'query($a: ID!) { device(assetId: $a) { assetId attributes } }', { a: f1.assetId });
    expect(read.data!.device).toEqual({ assetId: f1.assetId, attributes: null });
    expect(errorCode(read)).toBe('FORBIDDEN');
    const writer = await t.tenant('o-iso-a', [{ permission: 'REGISTRY_FULL' }, { permission: 'ASSET_WRITE', assetIds: [f2.assetId] }]);
    const write = await t.gql(writer.token, 'mutation($a: ID!) { updateDevice(device: { assetId: $a }, input: { attributes: { location: "moved" } }) { assetId } }', { a: f1.assetId });
    expect(errorCode(write)).toBe('FORBIDDEN');
    const create = await t.gql(writer.token, 'mutation($k: String!) { createDevice(input: { productKey: $k, name: "n", attributes: { location: "x" } }) { assetId } }', { k: f1.productKey });
    expect(errorCode(create)).toBe('FORBIDDEN');
    const owner = await t.gql(adminA.token, 'query($a: ID!) { attributeValues(device: { assetId: $a }) { attribute } }', { a: f1.assetId });
    expect(owner.data!.attributeValues).toEqual([]);
  });

  it("refuses job offsets to an account whose grant misses a device the job selects", async () => {
    const f = await createOrgFixtures(t, adminA);
    // A second device of the job's product, outside the single-device grant.
    const other = await t.gql(adminA.token, 'mutation($k: String!) { createDevice(input: { productKey: $k, name: "second" }) { assetId } }', { k: f.productKey });
    expect(other.errors).toBeUndefined();
    const scoped = await t.tenant('o-iso-a', [{ permission: 'ASSET_READ', assetIds: [f.assetId] }]);
    const commit = 'mutation($j: ID!) { commitJobOffsets(jobId: $j, offset: "0", partitions: [0, 1]) { partition offset } }';
    const reset = 'mutation($j: ID!) { resetJobOffsets(jobId: $j, to: { latest: true }) { partition offset } }';
    expect(errorCode(await t.gql(scoped.token, commit, { j: f.jobId }))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(scoped.token, reset, { j: f.jobId }))).toBe('FORBIDDEN');
    const offsets = await t.gql(adminA.token, 'query($j: ID!) { subscriptionJob(id: $j) { groupOffsets { partition } } }', { j: f.jobId });
    expect(offsets.data!.subscriptionJob.groupOffsets).toEqual([]);
    const product = await t.tenant('o-iso-a', [{ permission: 'ASSET_READ', productKeys: [f.productKey] }]);
    expect((await t.gql(product.token, commit, { j: f.jobId })).errors).toBeUndefined();
    expect((await t.gql(product.token, reset, { j: f.jobId })).errors).toBeUndefined();
  });
});
