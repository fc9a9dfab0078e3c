import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { getModel, updateModel } from '../../src/registry/models';
import { FLEET_MODEL, insertPoints, seedFleet, type Fleet, type PointRow } from '../fixtures/seed-data';

const T0 = Date.UTC(2026, 0, 10, 0, 0, 0);
const MIN = 60_000;

let t: TestApp;
let admin: Tenant;
let fleet: Fleet;

const LATEST = `query($devices: DeviceSelector!, $points: [String!], $since: Timestamp) {
  latestValues(devices: $devices, points: $points, since: $since) { assetId point time value quality } }`;
const HISTORY = `query($devices: DeviceSelector!, $points: [String!]!, $from: Timestamp!, $to: Timestamp!, $order: SortOrder, $qualities: [Int!], $first: Int, $after: String) {
  pointHistory(devices: $devices, points: $points, from: $from, to: $to, order: $order, qualities: $qualities, first: $first, after: $after) {
    edges { cursor node { assetId point time value quality } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`;

beforeAll(async () => {
  t = await startTestApp({ QUERY_PAGE_MAX_ROWS: '50', QUERY_MAX_SERIES: '6', QUERY_LATEST_MAX_VALUES: '12' });
  admin = await t.tenant('o-lh');
  fleet = await seedFleet(t.db, 'o-lh', { productKey: 'lh-inv', count: 3 });
  const [d0, d1] = fleet.devices;
  const p = fleet.points;
  const rows: PointRow[] = [];
  // d0.power every minute for 10 minutes, with a gap at minutes 4-5 and quality 0 except minute 7.
  for (const m of [0, 1, 2, 3, 6, 7, 8, 9]) rows.push({ deviceId: d0!.id, pointId: p['power']!, time: T0 + m * MIN, value: 10 + m, quality: m === 7 ? 2 : 0 });
  rows.push({ deviceId: d1!.id, pointId: p['power']!, time: T0 + 2 * MIN, value: 100, quality: 0 });
  rows.push({ deviceId: d0!.id, pointId: p['running']!, time: T0 + 5 * MIN, value: true });
  rows.push({ deviceId: d0!.id, pointId: p['mode']!, time: T0 + 5 * MIN, value: 'auto' });
  rows.push({ deviceId: d0!.id, pointId: p['info']!, time: T0 + 5 * MIN, value: { fw: '1.2.3' } });
  await insertPoints(t.db, rows);
  // A retried duplicate replaces the stored value; offline data newer than the latest never moves it.
  await insertPoints(t.db, [{ deviceId: d0!.id, pointId: p['power']!, time: T0 + 9 * MIN, value: 99.5, quality: 0 }]);
  await insertPoints(t.db, [{ deviceId: d0!.id, pointId: p['power']!, time: T0 + 30 * MIN, value: -1, quality: 0, offline: true }]);
});
afterAll(() => t.close());

describe('latestValues', () => {
  it('returns the latest real-time value of each point, typed back into JSON, with time and quality', async () => {
    const d0 = fleet.devices[0]!.assetId;
    const r = await t.gql(admin.token, LATEST, { devices: { assetIds: [d0] } });
    expect(r.errors).toBeUndefined();
    expect(r.data!.latestValues).toEqual([
      { assetId: d0, point: 'power', time: T0 + 9 * MIN, value: 99.5, quality: 0 },
      { assetId: d0, point: 'running', time: T0 + 5 * MIN, value: true, quality: null },
      { assetId: d0, point: 'mode', time: T0 + 5 * MIN, value: 'auto', quality: null },
      { assetId: d0, point: 'info', time: T0 + 5 * MIN, value: { fw: '1.2.3' }, quality: null },
    ]);
  });

  it('reads chosen points of many devices named by productKey and deviceKey', async () => {
    const [d0, d1, d2] = fleet.devices;
    const r = await t.gql(admin.token, LATEST, { devices: { devices: [{ productKey: 'lh-inv', deviceKey: d1!.deviceKey }, { assetId: d0!.assetId }, { assetId: d2!.assetId }] }, points: ['power'] });
    expect(r.errors).toBeUndefined();
    expect(r.data!.latestValues.map((v: { assetId: string; value: unknown }) => [v.assetId, v.value])).toEqual([
      [d1!.assetId, 100],
      [d0!.assetId, 99.5],
    ]);
  });

  it('selects devices by product or by model and keeps values at or after `since`', async () => {
    const byProduct = await t.gql(admin.token, LATEST, { devices: { productKey: 'lh-inv' }, points: ['power'], since: T0 + 3 * MIN });
    expect(byProduct.data!.latestValues).toEqual([{ assetId: fleet.devices[0]!.assetId, point: 'power', time: T0 + 9 * MIN, value: 99.5, quality: 0 }]);
    const byModel = await t.gql(admin.token, LATEST, { devices: { modelIdentifier: 'inverter' }, points: ['power'] });
    expect(byModel.data!.latestValues).toHaveLength(2);
  });

  it('serves Device.latest for a list of devices in one batch', async () => {
    const r = await t.gql(admin.token, `{ devices(filter: { productKey: "lh-inv" }) { edges { node { assetId latest(points: ["power", "mode"]) { point value } } } } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data!.devices.edges.map((e: { node: { latest: unknown } }) => e.node.latest)).toEqual([
      [
        { point: 'power', value: 99.5 },
        { point: 'mode', value: 'auto' },
      ],
      [{ point: 'power', value: 100 }],
      [],
    ]);
  });

  it('refuses an unknown point, an empty selector and more device x point pairs than QUERY_LATEST_MAX_VALUES', async () => {
    const d0 = fleet.devices[0]!.assetId;
    expect(errorCode(await t.gql(admin.token, LATEST, { devices: { assetIds: [d0] }, points: ['nope'] }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.gql(admin.token, LATEST, { devices: {} }))).toBe('BAD_USER_INPUT');
    const tooMany = await t.gql(admin.token, LATEST, { devices: { productKey: 'lh-inv' } });
    expect(errorCode(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.errors![0]!.message).toContain('QUERY_LATEST_MAX_VALUES');
  });

  it('answers an empty list for a device without data', async () => {
    const r = await t.gql(admin.token, LATEST, { devices: { assetIds: [fleet.devices[2]!.assetId] } });
    expect(r.data!.latestValues).toEqual([]);
  });
});

describe('latestValuesByDevice', () => {
  const BY_DEVICE = `query($devices: DeviceSelector!, $points: [String!]) { latestValuesByDevice(devices: $devices, points: $points) { assetId points times values qualities } }`;

  it('returns the values of latestValues in columns per device, every selected device once', async () => {
    const [d0, d1, d2] = fleet.devices.map((d) => d.assetId);
    const r = await t.gql(admin.token, BY_DEVICE, { devices: { assetIds: [d1, d0, d2] }, points: ['power', 'mode'] });
    expect(r.errors).toBeUndefined();
    expect(r.data!.latestValuesByDevice).toEqual([
      { assetId: d1, points: ['power'], times: [T0 + 2 * MIN], values: [100], qualities: [0] },
      { assetId: d0, points: ['power', 'mode'], times: [T0 + 9 * MIN, T0 + 5 * MIN], values: [99.5, 'auto'], qualities: [0, null] },
      { assetId: d2, points: [], times: [], values: [], qualities: [] },
    ]);
    const rows = await t.gql(admin.token, LATEST, { devices: { assetIds: [d1, d0, d2] }, points: ['power', 'mode'] });
    const flat = r.data!.latestValuesByDevice.flatMap((g: { assetId: string; points: string[]; times: number[]; values: unknown[]; qualities: unknown[] }) =>
      g.points.map((point, i) => ({ assetId: g.assetId, point, time: g.times[i], value: g.values[i], quality: g.qualities[i] })),
    );
    expect(flat).toEqual(rows.data!.latestValues);
  });

  it('gives each column again as one JSON array in the *Json fields (the fast bulk shape)', async () => {
    const [d0, d1, d2] = fleet.devices.map((d) => d.assetId);
    const vars = { devices: { assetIds: [d1, d0, d2] }, points: ['power', 'mode'] };
    const lists = await t.gql(admin.token, BY_DEVICE, vars);
    const json = await t.gql(admin.token, `query($devices: DeviceSelector!, $points: [String!]) { latestValuesByDevice(devices: $devices, points: $points) { assetId pointsJson timesJson valuesJson qualitiesJson } }`, vars);
    expect(json.errors).toBeUndefined();
    expect(json.data!.latestValuesByDevice).toEqual(
      lists.data!.latestValuesByDevice.map((g: { assetId: string; points: unknown; times: unknown; values: unknown; qualities: unknown }) => ({ assetId: g.assetId, pointsJson: g.points, timesJson: g.times, valuesJson: g.values, qualitiesJson: g.qualities })),
    );
  });

  it('refuses an unknown point and more device x point pairs than QUERY_LATEST_MAX_VALUES', async () => {
    expect(errorCode(await t.gql(admin.token, BY_DEVICE, { devices: { assetIds: [fleet.devices[0]!.assetId] }, points: ['nope'] }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.gql(admin.token, BY_DEVICE, { devices: { productKey: 'lh-inv' } }))).toBe('BAD_USER_INPUT');
  });

  it('sees a point added by a model update at once (features are cached by model version)', async () => {
    const d0 = fleet.devices[0]!.assetId;
    expect(errorCode(await t.gql(admin.token, BY_DEVICE, { devices: { assetIds: [d0] }, points: ['extra'] }))).toBe('BAD_USER_INPUT');
    const model = await getModel(t.db, 'o-lh', 'inverter');
    await updateModel(t.db, 'o-lh', 'inverter', { ...FLEET_MODEL, measurePoints: [...FLEET_MODEL.measurePoints, { identifier: 'extra', name: 'Extra', type: { dataType: 'INT' } }] });
    expect((await getModel(t.db, 'o-lh', 'inverter')).version).toBe(model.version + 1);
    const r = await t.gql(admin.token, BY_DEVICE, { devices: { assetIds: [d0] }, points: ['extra'] });
    expect(r.errors).toBeUndefined();
    expect(r.data!.latestValuesByDevice).toEqual([{ assetId: d0, points: [], times: [], values: [], qualities: [] }]);
  });
});

describe('pointHistory', () => {
  const d0 = () => fleet.devices[0]!.assetId;

  it('returns raw rows in time order across gaps, with replaced duplicates and offline rows', async () => {
    const r = await t.gql(admin.token, HISTORY, { devices: { assetIds: [d0()] }, points: ['power'], from: T0, to: T0 + 60 * MIN });
    expect(r.errors).toBeUndefined();
    const nodes = r.data!.pointHistory.edges.map((e: { node: { time: number; value: number } }) => [(e.node.time - T0) / MIN, e.node.value]);
    expect(nodes).toEqual([
      [0, 10],
      [1, 11],
      [2, 12],
      [3, 13],
      [6, 16],
      [7, 17],
      [8, 18],
      [9, 99.5],
      [30, -1],
    ]);
    expect(r.data!.pointHistory.pageInfo.hasNextPage).toBe(false);
  });

  it('orders descending, filters by quality and treats `to` as exclusive', async () => {
    const desc = await t.gql(admin.token, HISTORY, { devices: { assetIds: [d0()] }, points: ['power'], from: T0 + 6 * MIN, to: T0 + 9 * MIN, order: 'DESC' });
    expect(desc.data!.pointHistory.edges.map((e: { node: { value: number } }) => e.node.value)).toEqual([18, 17, 16]);
    const q = await t.gql(admin.token, HISTORY, { devices: { assetIds: [d0()] }, points: ['power'], from: T0, to: T0 + 60 * MIN, qualities: [2] });
    expect(q.data!.pointHistory.edges.map((e: { node: { value: number; quality: number } }) => [e.node.value, e.node.quality])).toEqual([[17, 2]]);
  });

  it('interleaves several devices and points by (time, device, point)', async () => {
    const r = await t.gql(admin.token, HISTORY, { devices: { productKey: 'lh-inv' }, points: ['power', 'mode'], from: T0 + 2 * MIN, to: T0 + 6 * MIN });
    expect(r.data!.pointHistory.edges.map((e: { node: { assetId: string; point: string; time: number } }) => [(e.node.time - T0) / MIN, e.node.assetId, e.node.point])).toEqual([
      [2, d0(), 'power'],
      [2, fleet.devices[1]!.assetId, 'power'],
      [3, d0(), 'power'],
      [5, d0(), 'mode'],
    ]);
  });

  it('gives the rows of a page in columns too, the same rows as its edges', async () => {
    const q = `query($d: DeviceSelector!, $after: String) { pointHistory(devices: $d, points: ["power", "mode"], from: ${T0}, to: ${T0 + 10 * MIN}, first: 4, after: $after) {
      edges { node { assetId point time value quality } } columns { assetIds points times values qualities assetIdsJson pointsJson timesJson valuesJson qualitiesJson } pageInfo { hasNextPage endCursor } } }`;
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const r: { data?: any; errors?: unknown } = await t.gql(admin.token, q, { d: { assetIds: [fleet.devices[0]!.assetId] }, after });
      expect(r.errors).toBeUndefined();
      const page: any = r.data!.pointHistory;
      const c = page.columns;
      expect(c.times.map((time: number, i: number) => ({ assetId: c.assetIds[i], point: c.points[i], time, value: c.values[i], quality: c.qualities[i] }))).toEqual(page.edges.map((e: { node: unknown }) => e.node));
      expect([c.assetIdsJson, c.pointsJson, c.timesJson, c.valuesJson, c.qualitiesJson]).toEqual([c.assetIds, c.points, c.times, c.values, c.qualities]);
      pages++;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    const empty = await t.gql(admin.token, q, { d: { assetIds: [fleet.devices[2]!.assetId] }, after: null });
    expect(empty.data!.pointHistory.columns).toEqual({ assetIds: [], points: [], times: [], values: [], qualities: [], assetIdsJson: [], pointsJson: [], timesJson: [], valuesJson: [], qualitiesJson: [] });
  });

  it('answers an empty page for an empty range', async () => {
    const r = await t.gql(admin.token, HISTORY, { devices: { assetIds: [d0()] }, points: ['power'], from: T0 + 4 * MIN, to: T0 + 6 * MIN });
    expect(r.data!.pointHistory).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, endCursor: null } });
  });

  it('refuses a page above QUERY_PAGE_MAX_ROWS, too many series, a reversed range and a forged cursor', async () => {
    const base = { devices: { assetIds: [d0()] }, points: ['power'], from: T0, to: T0 + 60 * MIN };
    expect(errorCode(await t.gql(admin.token, HISTORY, { ...base, first: 51 }))).toBe('BAD_USER_INPUT');
    const series = await t.gql(admin.token, HISTORY, { ...base, devices: { productKey: 'lh-inv' }, points: ['power', 'temp', 'mode'] });
    expect(errorCode(series)).toBe('BAD_USER_INPUT');
    expect(series.errors![0]!.message).toContain('QUERY_MAX_SERIES');
    expect(errorCode(await t.gql(admin.token, HISTORY, { ...base, from: T0 + MIN, to: T0 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.gql(admin.token, HISTORY, { ...base, after: 'bm9wZQ' }))).toBe('BAD_USER_INPUT');
  });

  it('returns every row exactly once across pages while new rows arrive, in both orders', async () => {
    const dev = fleet.devices[2]!;
    const p = fleet.points['temp']!;
    const base = Date.UTC(2026, 1, 1);
    await insertPoints(t.db, Array.from({ length: 40 }, (_, i) => ({ deviceId: dev.id, pointId: p, time: base + i * 1000, value: i })));
    for (const order of ['ASC', 'DESC'] as const) {
      const seen: number[] = [];
      let after: string | null = null;
      let extra = 1000;
      for (let page = 0; page < 20; page++) {
        const r: Awaited<ReturnType<typeof t.gql<{ pointHistory: any }>>> = await t.gql<{ pointHistory: any }>(admin.token, HISTORY, { devices: { assetIds: [dev.assetId] }, points: ['temp'], from: base, to: base + 3_600_000, order, first: 7, after });
        expect(r.errors).toBeUndefined();
        const conn = r.data!.pointHistory;
        seen.push(...conn.edges.map((e: { node: { value: number } }) => e.node.value));
        // New data lands between pages: at a time already paged past, in the middle and at the end.
        await insertPoints(t.db, [
          { deviceId: dev.id, pointId: p, time: base + 100 + page * 1000, value: extra++ },
          { deviceId: dev.id, pointId: p, time: base + 3_000_000 + page, value: extra++ },
        ]);
        if (!conn.pageInfo.hasNextPage) break;
        after = conn.pageInfo.endCursor;
      }
      const original = seen.filter((v) => v < 40);
      expect(original.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(new Set(seen).size).toBe(seen.length);
      await t.db.execute(sql`delete from point_data where device_id = ${dev.id} and point_id = ${p} and num >= 1000`);
    }
  });
});
