import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/storage/db';
import { startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { ALL_TYPES_MODEL, POST_POINTS, setupDevices } from './fixtures';

/*
 * Ingest takes devices it resolved before from memory and confirms them in the write
 * transaction: every change to a device since must take effect on the next call, as if the
 * device had been read afresh.
 */

let t: TestApp;
let org: Tenant;
let other: Tenant;
let assets: string[];
const T0 = 1_700_000_000_000;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.tenant('o-remember');
  other = await t.tenant('o-remember-other');
  assets = await setupDevices(t, org, 'pkRemember', 4);
});
afterAll(() => t.close());

const post = (tenant: Tenant, assetId: string, time: number, values: Record<string, unknown>) => t.gql(tenant.token, POST_POINTS, { items: [{ assetId, time, values }] });
const itemCode = (r: Awaited<ReturnType<typeof post>>) => (r.errors?.[0]?.extensions?.['details'] as { errors?: { code: string }[] } | undefined)?.errors?.[0]?.code;
const stored = async (assetId: string) =>
  (await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data p join devices d on d.id = p.device_id where d.asset_id = ${assetId}`))[0]?.n;

describe('devices remembered by ingest', () => {
  it('refuses the data of a device disabled after a call remembered it', async () => {
    expect((await post(org, assets[0]!, T0, { i: 1 })).errors).toBeUndefined();
    const off = await t.gql(org.token, 'mutation($d: DeviceRefInput!) { disableDevice(device: $d) { enabled } }', { d: { assetId: assets[0] } });
    expect(off.errors).toBeUndefined();
    const r = await post(org, assets[0]!, T0 + 1, { i: 2 });
    expect(itemCode(r)).toBe('DEVICE_DISABLED');
    expect(await stored(assets[0]!)).toBe(1);
  });

  it('refuses the data of a device deleted after a call remembered it, storing nothing', async () => {
    expect((await post(org, assets[1]!, T0, { i: 1 })).errors).toBeUndefined();
    const del = await t.gql(org.token, 'mutation($d: DeviceRefInput!) { deleteDevice(device: $d) }', { d: { assetId: assets[1] } });
    expect(del.errors).toBeUndefined();
    const r = await post(org, assets[1]!, T0 + 1, { i: 2 });
    expect(itemCode(r)).toBe('DEVICE_NOT_FOUND');
    expect(await stored(assets[1]!)).toBe(0);
  });

  it('validates against the model as it is now when the model changed after a call remembered the device', async () => {
    expect((await post(org, assets[2]!, T0, { i: 1 })).errors).toBeUndefined();
    expect(itemCode(await post(org, assets[2]!, T0 + 1, { added: 5 }))).toBe('UNKNOWN_IDENTIFIER');
    const model = { ...ALL_TYPES_MODEL, measurePoints: [...ALL_TYPES_MODEL.measurePoints, { identifier: 'added', type: { dataType: 'INT' } }] };
    const up = await t.gql(org.token, 'mutation($id: ID!, $i: ThingModelInput!) { updateThingModel(identifier: $id, input: $i) { identifier } }', { id: ALL_TYPES_MODEL.identifier, i: model });
    expect(up.errors).toBeUndefined();
    const r = await post(org, assets[2]!, T0 + 2, { added: 5 });
    expect(r.errors).toBeUndefined();
    expect(r.data?.['postMeasurePoints'].accepted).toBe(1);
  });

  it('never lets another organisation write to a device this instance remembers', async () => {
    expect((await post(org, assets[3]!, T0, { i: 1 })).errors).toBeUndefined();
    const r = await post(other, assets[3]!, T0 + 1, { i: 2 });
    expect(itemCode(r)).toBe('DEVICE_NOT_FOUND');
    expect(await stored(assets[3]!)).toBe(1);
  });

  it('stores every one of many concurrent calls of remembered devices', async () => {
    const live = assets[3]!;
    const results = await Promise.all(Array.from({ length: 30 }, (_, k) => post(org, live, T0 + 100 + k, { i: k })));
    for (const r of results) expect(r.errors).toBeUndefined();
    expect(await stored(live)).toBe(31);
  });
});
