import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterModel } from '../fixtures/models';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

/*
 * Device data reached through registry types and mutations needs the data API's permission:
 * ASSET_READ to read attribute values, ASSET_WRITE to set them, scoped like any data grant.
 */
let t: TestApp;
let admin: Tenant;
let d1: string;
let d2: string;

const ORG = 'o-devdata';
const ATTRS = 'query($a: ID!) { attributeValues(device: { assetId: $a }) { attribute value } }';
const DEVICE_ATTRS = 'query($a: ID!) { device(assetId: $a) { assetId name attributes } }';
const UPDATE = 'mutation($a: ID!, $i: UpdateDeviceInput!) { updateDevice(device: { assetId: $a }, input: $i) { name } }';
const CREATE = 'mutation($i: CreateDeviceInput!) { createDevice(input: $i) { assetId } }';

/** The attribute values of a device, read by the organisation's admin through the data API. */
async function attributesOf(assetId: string): Promise<Record<string, unknown>> {
  const r = await t.gql(admin.token, ATTRS, { a: assetId });
  expect(r.errors).toBeUndefined();
  return Object.fromEntries((r.data!.attributeValues as { attribute: string; value: unknown }[]).map((v) => [v.attribute, v.value]));
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.tenant(ORG);
  await t.gql(admin.token, 'mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }', { i: meterModel('DataMeter') });
  await t.gql(admin.token, 'mutation { createProduct(input: { productKey: "pkData", name: "p", modelIdentifier: "DataMeter" }) { productKey } }');
  const c1 = await t.gql(admin.token, CREATE, { i: { productKey: 'pkData', deviceKey: 'data-1', name: 'one', attributes: { location: 'roof' } } });
  const c2 = await t.gql(admin.token, CREATE, { i: { productKey: 'pkData', deviceKey: 'data-2', name: 'two', attributes: { location: 'cellar' } } });
  d1 = c1.data!.createDevice.assetId;
  d2 = c2.data!.createDevice.assetId;
});
afterAll(() => t.close());

describe('reading attribute values through the registry', () => {
  it('gives REGISTRY_READ alone the device but a FORBIDDEN error on its attributes, as attributeValues does', async () => {
    const sa = await t.tenant(ORG, [{ permission: 'REGISTRY_READ' }]);
    expect(errorCode(await t.gql(sa.token, ATTRS, { a: d1 }))).toBe('FORBIDDEN');
    const r = await t.gql(sa.token, DEVICE_ATTRS, { a: d1 });
    expect(r.data!.device).toEqual({ assetId: d1, name: 'one', attributes: null });
    expect(r.errors!.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['device', 'attributes']]]);
    expect(r.errors![0]!.message).toBe('missing permission ASSET_READ');
  });

  it('shows attributes of the devices an ASSET_READ grant reaches and FORBIDDEN on the others in a listing', async () => {
    const sa = await t.tenant(ORG, [{ permission: 'REGISTRY_READ' }, { permission: 'ASSET_READ', assetIds: [d1] }]);
    const r = await t.gql(sa.token, '{ devices { edges { node { assetId attributes } } } }');
    const nodes = r.data!.devices.edges.map((e: { node: unknown }) => e.node);
    expect(nodes).toEqual([
      { assetId: d1, attributes: { location: 'roof' } },
      { assetId: d2, attributes: null },
    ]);
    expect(r.errors!.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['devices', 'edges', 1, 'node', 'attributes']]]);
  });

  it('reads attributes with REGISTRY_READ and ASSET_READ', async () => {
    const sa = await t.tenant(ORG, [{ permission: 'REGISTRY_READ' }, { permission: 'ASSET_READ' }]);
    const r = await t.gql(sa.token, DEVICE_ATTRS, { a: d2 });
    expect(r.errors).toBeUndefined();
    expect(r.data!.device.attributes).toEqual({ location: 'cellar' });
  });
});

describe('writing attribute values through the registry', () => {
  it('refuses updateDevice attributes to REGISTRY_FULL alone and leaves the values unchanged', async () => {
    const sa = await t.tenant(ORG, [{ permission: 'REGISTRY_FULL' }]);
    const r = await t.gql(sa.token, UPDATE, { a: d1, i: { name: 'renamed', attributes: { location: 'street' } } });
    expect(errorCode(r)).toBe('FORBIDDEN');
    expect(r.errors![0]!.message).toContain('ASSET_WRITE');
    expect(await attributesOf(d1)).toEqual({ location: 'roof' });
    const named = await t.gql(admin.token, 'query($a: ID!) { device(assetId: $a) { name } }', { a: d1 });
    expect(named.data!.device.name).toBe('one');
    // Registry fields alone stay a registry matter.
    expect((await t.gql(sa.token, UPDATE, { a: d1, i: { description: 'kept in the registry' } })).errors).toBeUndefined();
  });

  it('refuses updateDevice attributes outside a device-scoped ASSET_WRITE grant', async () => {
    const sa = await t.tenant(ORG, [{ permission: 'REGISTRY_FULL' }, { permission: 'ASSET_WRITE', assetIds: [d2] }]);
    expect(errorCode(await t.gql(sa.token, UPDATE, { a: d1, i: { attributes: { location: 'street' } } }))).toBe('FORBIDDEN');
    expect(await attributesOf(d1)).toEqual({ location: 'roof' });
    const ok = await t.gql(sa.token, UPDATE, { a: d2, i: { attributes: { location: 'attic' } } });
    expect(ok.errors).toBeUndefined();
    expect(await attributesOf(d2)).toEqual({ location: 'attic' });
  });

  it('refuses createDevice with attributes to REGISTRY_FULL alone and creates nothing', async () => {
    const sa = await t.tenant(ORG, [{ permission: 'REGISTRY_FULL' }]);
    const r = await t.gql(sa.token, CREATE, { i: { productKey: 'pkData', deviceKey: 'data-refused', name: 'x', attributes: { location: 'roof' } } });
    expect(errorCode(r)).toBe('FORBIDDEN');
    const gone = await t.gql(admin.token, '{ device(productKey: "pkData", deviceKey: "data-refused") { assetId } }');
    expect(errorCode(gone)).toBe('NOT_FOUND');
    // An ASSET_WRITE grant on single devices cannot reach a device that does not exist yet.
    const scoped = await t.tenant(ORG, [{ permission: 'REGISTRY_FULL' }, { permission: 'ASSET_WRITE', assetIds: [d1] }]);
    expect(errorCode(await t.gql(scoped.token, CREATE, { i: { productKey: 'pkData', deviceKey: 'data-refused', name: 'x', attributes: { location: 'roof' } } }))).toBe('FORBIDDEN');
    expect((await t.gql(sa.token, CREATE, { i: { productKey: 'pkData', deviceKey: 'data-plain', name: 'x' } })).errors).toBeUndefined();
  });

  it('creates a device with attributes under REGISTRY_FULL and an ASSET_WRITE grant on its product', async () => {
    const sa = await t.tenant(ORG, [{ permission: 'REGISTRY_FULL' }, { permission: 'ASSET_WRITE', productKeys: ['pkData'] }]);
    const r = await t.gql(sa.token, CREATE, { i: { productKey: 'pkData', deviceKey: 'data-written', name: 'x', attributes: { location: 'yard' } } });
    expect(r.errors).toBeUndefined();
    expect(await attributesOf(r.data!.createDevice.assetId)).toEqual({ location: 'yard' });
  });
});
