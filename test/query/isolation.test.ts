import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { insertEvents, insertFile, insertPoints, seedFleet, setAttribute, type Fleet } from '../fixtures/seed-data';

const T0 = Date.UTC(2026, 0, 10);

let t: TestApp;
let owner: Tenant;
let other: Tenant;
let noRead: Tenant;
let scoped: Tenant;
let fleet: Fleet;

/** Every query operation, naming device `assetId` (or, for selectors, by `devices`). */
function operations(assetId: string): { name: string; query: string; variables: Record<string, unknown> }[] {
  const devices = { assetIds: [assetId] };
  const device = { assetId };
  return [
    { name: 'latestValues', query: `query($d: DeviceSelector!) { latestValues(devices: $d) { value } }`, variables: { d: devices } },
    { name: 'latestValuesByDevice', query: `query($d: DeviceSelector!) { latestValuesByDevice(devices: $d) { values } }`, variables: { d: devices } },
    { name: 'pointHistory', query: `query($d: DeviceSelector!) { pointHistory(devices: $d, points: ["power"], from: 0, to: ${T0 + 1e6}) { edges { node { value } } } }`, variables: { d: devices } },
    { name: 'pointAggregates', query: `query($d: DeviceSelector!) { pointAggregates(devices: $d, aggregates: [{ point: "power", function: AVG }], from: ${T0}, to: ${T0 + 3_600_000}, interval: "1 hour") { times } }`, variables: { d: devices } },
    { name: 'attributeValues', query: `query($d: DeviceRefInput!) { attributeValues(device: $d) { value } }`, variables: { d: device } },
    { name: 'attributeHistory', query: `query($d: DeviceRefInput!) { attributeHistory(device: $d, attribute: "location") { edges { node { value } } } }`, variables: { d: device } },
    { name: 'eventHistory', query: `query($d: DeviceSelector!) { eventHistory(devices: $d, from: 0, to: ${T0 + 1e6}) { edges { node { event } } } }`, variables: { d: devices } },
    { name: 'files', query: `query($d: DeviceRefInput!) { files(device: $d) { edges { node { uri } } } }`, variables: { d: device } },
  ];
}

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.tenant('o-iso-a');
  other = await t.tenant('o-iso-b');
  noRead = await t.tenant('o-iso-a', [{ permission: 'REGISTRY_READ' }, { permission: 'ASSET_WRITE' }]);
  fleet = await seedFleet(t.db, 'o-iso-a', { productKey: 'iso-inv', count: 2 });
  scoped = await t.tenant('o-iso-a', [{ permission: 'ASSET_READ', assetIds: [fleet.devices[0]!.assetId] }]);
  await seedFleet(t.db, 'o-iso-b', { productKey: 'iso-b-inv', count: 1 });
  for (const d of fleet.devices) {
    await insertPoints(t.db, [{ deviceId: d.id, pointId: fleet.points['power']!, time: T0, value: 1, quality: 0 }]);
    await setAttribute(t.db, d.id, fleet.attributes['location']!, T0, 'x');
    await insertEvents(t.db, [{ deviceId: d.id, eventId: fleet.events['fault']!, time: T0, level: 'ERROR', params: { code: 1 } }]);
    await insertFile(t.db, { orgId: 'o-iso-a', deviceId: d.id, name: `f-${d.id}`, size: 1, md5: 'c'.repeat(32), createdAt: T0 });
  }
});
afterAll(() => t.close());

describe('query isolation matrix', () => {
  it('lets the owner read every operation', async () => {
    for (const op of operations(fleet.devices[0]!.assetId)) {
      const r = await t.gql(owner.token, op.query, op.variables);
      expect(r.errors, op.name).toBeUndefined();
    }
  });

  it('answers NOT_FOUND to another organisation naming the device', async () => {
    for (const op of operations(fleet.devices[0]!.assetId)) expect(errorCode(await t.gql(other.token, op.query, op.variables)), op.name).toBe('NOT_FOUND');
  });

  it('shows another organisation nothing when it selects by the owner product or model', async () => {
    const r = await t.gql(other.token, `{ a: latestValues(devices: { productKey: "iso-inv" }) { value } e: eventHistory(devices: { productKey: "iso-inv" }, from: 0, to: ${T0 + 1e6}) { edges { node { event } } } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ a: [], e: { edges: [] } });
    // The other organisation has its own model "inverter": selecting it finds only its own device, which has no data.
    const byModel = await t.gql(other.token, `{ latestValues(devices: { modelIdentifier: "inverter" }) { assetId } }`);
    expect(byModel.data!.latestValues).toEqual([]);
  });

  it('answers FORBIDDEN without ASSET_READ, including Device.latest', async () => {
    for (const op of operations(fleet.devices[0]!.assetId)) expect(errorCode(await t.gql(noRead.token, op.query, op.variables)), op.name).toBe('FORBIDDEN');
    const r = await t.gql(noRead.token, `{ device(assetId: "${fleet.devices[0]!.assetId}") { assetId latest { value } } }`);
    expect(r.data!.device).toEqual({ assetId: fleet.devices[0]!.assetId, latest: null });
    expect(errorCode(r)).toBe('FORBIDDEN');
  });

  it('limits a scoped ASSET_READ grant to its devices: others are NOT_FOUND or left out of selections', async () => {
    for (const op of operations(fleet.devices[0]!.assetId)) expect((await t.gql(scoped.token, op.query, op.variables)).errors, op.name).toBeUndefined();
    for (const op of operations(fleet.devices[1]!.assetId)) expect(errorCode(await t.gql(scoped.token, op.query, op.variables)), op.name).toBe('NOT_FOUND');
    const r = await t.gql(scoped.token, `{ latestValues(devices: { productKey: "iso-inv" }, points: ["power"]) { assetId } }`);
    expect(r.data!.latestValues).toEqual([{ assetId: fleet.devices[0]!.assetId }]);
  });
});
