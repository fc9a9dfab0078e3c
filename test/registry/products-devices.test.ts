import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterModel } from '../fixtures/models';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

let t: TestApp;
let a: Tenant;
beforeAll(async () => {
  t = await startTestApp();
  a = await t.tenant('o-pd');
  await t.gql(a.token, `mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }`, { i: meterModel('Meter') });
  await t.gql(a.token, `mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }`, { i: meterModel('Other') });
});
afterAll(() => t.close());

const DEVICE = 'assetId productKey deviceKey name timezone description tags attributes status enabled product { productKey } model { identifier }';
const createDevice = (input: Record<string, unknown>) => t.gql(a.token, `mutation($i: CreateDeviceInput!) { createDevice(input: $i) { ${DEVICE} } }`, { i: input });

describe('products', () => {
  it('creates a product with a given key and one with a generated key', async () => {
    const r1 = await t.gql(a.token, `mutation { createProduct(input: { productKey: "pkGiven", name: "Given", modelIdentifier: "Meter", dataFormat: CUSTOM }) { productKey name dataFormat model { identifier } } }`);
    expect(r1.data!.createProduct).toEqual({ productKey: 'pkGiven', name: 'Given', dataFormat: 'CUSTOM', model: { identifier: 'Meter' } });
    const r2 = await t.gql(a.token, `mutation { createProduct(input: { name: "Generated", modelIdentifier: "Meter" }) { productKey dataFormat } }`);
    expect(r2.data!.createProduct.productKey).toMatch(/^[A-Za-z0-9]{10}$/);
    expect(r2.data!.createProduct.dataFormat).toBe('JSON');
  });

  it('refuses a duplicate productKey, a bad key and an unknown model', async () => {
    await t.gql(a.token, `mutation { createProduct(input: { productKey: "pkTwice", name: "x", modelIdentifier: "Meter" }) { productKey } }`);
    expect(errorCode(await t.gql(a.token, `mutation { createProduct(input: { productKey: "pkTwice", name: "x", modelIdentifier: "Meter" }) { productKey } }`))).toBe('CONFLICT');
    expect(errorCode(await t.gql(a.token, `mutation { createProduct(input: { productKey: "a b", name: "x", modelIdentifier: "Meter" }) { productKey } }`))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.gql(a.token, `mutation { createProduct(input: { name: "x", modelIdentifier: "Nope" }) { productKey } }`))).toBe('NOT_FOUND');
  });

  it('updates a product and rebinds its model only while it has no devices', async () => {
    await t.gql(a.token, `mutation { createProduct(input: { productKey: "pkUpd", name: "x", modelIdentifier: "Meter" }) { productKey } }`);
    const r = await t.gql(a.token, `mutation { updateProduct(productKey: "pkUpd", input: { name: "renamed", modelIdentifier: "Other" }) { name model { identifier } } }`);
    expect(r.data!.updateProduct).toEqual({ name: 'renamed', model: { identifier: 'Other' } });
    await createDevice({ productKey: 'pkUpd', deviceKey: 'upd-dev-1', name: 'd' });
    const refused = await t.gql(a.token, `mutation { updateProduct(productKey: "pkUpd", input: { modelIdentifier: "Meter" }) { name } }`);
    expect(errorCode(refused)).toBe('CONFLICT');
  });

  it('deletes an empty product and refuses to delete one with devices', async () => {
    await t.gql(a.token, `mutation { createProduct(input: { productKey: "pkDelete", name: "x", modelIdentifier: "Meter" }) { productKey } }`);
    expect((await t.gql(a.token, `mutation { deleteProduct(productKey: "pkDelete") }`)).data!.deleteProduct).toBe(true);
    await t.gql(a.token, `mutation { createProduct(input: { productKey: "pkBusy", name: "x", modelIdentifier: "Meter" }) { productKey } }`);
    await createDevice({ productKey: 'pkBusy', deviceKey: 'busy-dev', name: 'd' });
    const r = await t.gql(a.token, `mutation { deleteProduct(productKey: "pkBusy") }`);
    expect(errorCode(r)).toBe('CONFLICT');
    expect(r.errors![0]!.message).toMatch(/has 1 device/);
  });

  it('lists products filtered by model', async () => {
    const r = await t.gql(a.token, `{ products(filter: { modelIdentifier: "Other" }) { totalCount edges { node { productKey } } } }`);
    expect(r.data!.products.edges.map((e: { node: { productKey: string } }) => e.node.productKey)).toContain('pkUpd');
    expect(r.data!.products.edges.every((e: { node: { productKey: string } }) => e.node.productKey !== 'pkGiven')).toBe(true);
  });
});

describe('devices', () => {
  beforeAll(async () => {
    await t.gql(a.token, `mutation { createProduct(input: { productKey: "pkDev", name: "Devices", modelIdentifier: "Meter" }) { productKey } }`);
  });

  it('creates a device with attributes, tags and timezone, and a generated assetId', async () => {
    const r = await createDevice({ productKey: 'pkDev', deviceKey: 'dev001', name: 'Meter 1', timezone: '+08:00', tags: { site: 'north' }, attributes: { location: 'roof', ratedPower: 3.5 } });
    expect(r.errors).toBeUndefined();
    const d = r.data!.createDevice;
    expect(d).toMatchObject({ productKey: 'pkDev', deviceKey: 'dev001', name: 'Meter 1', timezone: '+08:00', tags: { site: 'north' }, attributes: { location: 'roof', ratedPower: 3.5 }, status: 'INACTIVE', enabled: true, model: { identifier: 'Meter' } });
    expect(d.assetId).toMatch(/^[A-Za-z0-9]{10}$/);
    const byKeys = await t.gql(a.token, `{ device(productKey: "pkDev", deviceKey: "dev001") { assetId } }`);
    expect(byKeys.data!.device.assetId).toBe(d.assetId);
  });

  it('accepts IANA timezones and generates a deviceKey when absent', async () => {
    const r = await createDevice({ productKey: 'pkDev', name: 'auto', timezone: 'Europe/Berlin' });
    expect(r.data!.createDevice.deviceKey).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(r.data!.createDevice.timezone).toBe('Europe/Berlin');
  });

  it.each([
    ['a deviceKey shorter than 4 characters', { productKey: 'pkDev', deviceKey: 'abc', name: 'x' }, 'BAD_USER_INPUT'],
    ['a deviceKey with a slash', { productKey: 'pkDev', deviceKey: 'a/bcd', name: 'x' }, 'BAD_USER_INPUT'],
    ['an unknown timezone', { productKey: 'pkDev', deviceKey: 'tz-bad', name: 'x', timezone: 'Mars/Base' }, 'BAD_USER_INPUT'],
    ['an unknown product', { productKey: 'pkNope', deviceKey: 'nope-dev', name: 'x' }, 'NOT_FOUND'],
    ['an unknown attribute', { productKey: 'pkDev', deviceKey: 'attr-bad', name: 'x', attributes: { nope: 1 } }, 'MODEL_VIOLATION'],
    ['an attribute of the wrong type', { productKey: 'pkDev', deviceKey: 'attr-type', name: 'x', attributes: { ratedPower: 'high' } }, 'MODEL_VIOLATION'],
    ['an attribute longer than maxLength', { productKey: 'pkDev', deviceKey: 'attr-len', name: 'x', attributes: { location: 'x'.repeat(33) } }, 'MODEL_VIOLATION'],
  ])('refuses %s', async (_n, input, code) => {
    expect(errorCode(await createDevice(input))).toBe(code);
  });

  it('refuses a duplicate deviceKey within a product', async () => {
    await createDevice({ productKey: 'pkDev', deviceKey: 'twice', name: 'x' });
    expect(errorCode(await createDevice({ productKey: 'pkDev', deviceKey: 'twice', name: 'x' }))).toBe('CONFLICT');
  });

  it('updates name, tags and merges attributes', async () => {
    const c = await createDevice({ productKey: 'pkDev', deviceKey: 'upd1', name: 'x', attributes: { location: 'a' } });
    const id = c.data!.createDevice.assetId;
    const r = await t.gql(a.token, `mutation($id: ID!) { updateDevice(device: { assetId: $id }, input: { name: "y", tags: { k: "v" }, attributes: { ratedPower: 2 } }) { name tags attributes } }`, { id });
    expect(r.data!.updateDevice).toEqual({ name: 'y', tags: { k: 'v' }, attributes: { location: 'a', ratedPower: 2 } });
  });

  it('disables and re-enables a device', async () => {
    const c = await createDevice({ productKey: 'pkDev', deviceKey: 'toggle', name: 'x' });
    const id = c.data!.createDevice.assetId;
    const off = await t.gql(a.token, `mutation($id: ID!) { disableDevice(device: { assetId: $id }) { status enabled } }`, { id });
    expect(off.data!.disableDevice).toEqual({ status: 'DISABLED', enabled: false });
    const on = await t.gql(a.token, `mutation($id: ID!) { enableDevice(device: { assetId: $id }) { status enabled } }`, { id });
    expect(on.data!.enableDevice).toEqual({ status: 'INACTIVE', enabled: true });
  });

  it('deletes a device, after which it is not found', async () => {
    const c = await createDevice({ productKey: 'pkDev', deviceKey: 'gone', name: 'x' });
    const id = c.data!.createDevice.assetId;
    expect((await t.gql(a.token, `mutation($id: ID!) { deleteDevice(device: { assetId: $id }) }`, { id })).data!.deleteDevice).toBe(true);
    expect(errorCode(await t.gql(a.token, `query($id: ID!) { device(assetId: $id) { name } }`, { id }))).toBe('NOT_FOUND');
  });

  it('filters devices by product, model, status, tag and name, and pages through them', async () => {
    const f = await t.tenant('o-pd-filter');
    await t.gql(f.token, `mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }`, { i: meterModel('FM') });
    await t.gql(f.token, `mutation { createProduct(input: { productKey: "pkF1", name: "f", modelIdentifier: "FM" }) { productKey } }`);
    for (let i = 0; i < 5; i++) {
      await t.gql(f.token, `mutation($i: CreateDeviceInput!) { createDevice(input: $i) { assetId } }`, { i: { productKey: 'pkF1', deviceKey: `f-dev-${i}`, name: `Pump ${i}`, tags: { floor: String(i % 2) } } });
    }
    await t.gql(f.token, `mutation { disableDevice(device: { productKey: "pkF1", deviceKey: "f-dev-4" }) { status } }`);
    const q = (filter: string) => t.gql(f.token, `{ devices(filter: ${filter}) { totalCount } }`).then((r) => r.data!.devices.totalCount);
    expect(await q('{ productKey: "pkF1" }')).toBe(5);
    expect(await q('{ modelIdentifier: "FM" }')).toBe(5);
    expect(await q('{ status: DISABLED }')).toBe(1);
    expect(await q('{ status: INACTIVE }')).toBe(4);
    expect(await q('{ tag: { key: "floor", value: "1" } }')).toBe(2);
    expect(await q('{ tag: { key: "floor" } }')).toBe(5);
    expect(await q('{ search: "pump 3" }')).toBe(1);
    expect(await q('{ search: "%" }')).toBe(0);
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const r: { data: any } = (await t.gql(f.token, `query($a: String) { devices(first: 2, after: $a) { edges { node { deviceKey } } pageInfo { hasNextPage endCursor } } }`, { a: after })) as never;
      seen.push(...r.data.devices.edges.map((e: { node: { deviceKey: string } }) => e.node.deviceKey));
      if (!r.data.devices.pageInfo.hasNextPage) break;
      after = r.data.devices.pageInfo.endCursor;
    }
    expect(seen).toEqual(['f-dev-0', 'f-dev-1', 'f-dev-2', 'f-dev-3', 'f-dev-4']);
  });
});
