import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { createSampleDevices, sdkPost, type SampleDevice } from './fixtures';
import { json, type Envelope } from './enos-wire';

let t: TestApp;
let tenant: Tenant;
let other: Tenant;
let reader: Tenant;
let a: SampleDevice;
let b: SampleDevice;
/** 2020-04-20 00:00:00 +08:00, the instant of the EnOS samples. */
const T0 = 1587312000000;
const MIN = 60_000;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-read');
  other = await t.tenant('o-read-other');
  reader = await t.tenant('o-read', [{ permission: 'ASSET_READ' }]);
  [a, b] = (await createSampleDevices(t, tenant, 'pkRead', ['devReadA', 'devReadB'])) as [SampleDevice, SampleDevice];
  const u = await t.gql(tenant.token, 'mutation($d: DeviceRefInput!, $i: UpdateDeviceInput!) { updateDevice(device: $d, input: $i) { timezone } }', { d: { assetId: a.assetId }, i: { timezone: '+08:00' } });
  expect(u.errors).toBeUndefined();
  for (const dev of [a, b]) {
    const params = [
      ...Array.from({ length: 10 }, (_, i) => ({ assetId: dev.assetId, time: T0 + i * MIN, measurepoints: { IntMeasurePoint1: i, ...(i % 2 === 0 ? { DoubleMeasurePoint1: (i / 2) * 1.5 } : {}) } })),
      { assetId: dev.assetId, time: T0 + 30_000, measurepoints: { IntMeasurePoint1: 100, QualityPoint1: { value: 7.5, quality: 3 } } },
    ];
    expect(json<Envelope>(await sdkPost(t, tenant, 'postMeasurepoint', params)).code).toBe(0);
  }
  // Offline data never shows up in latest values.
  expect(json<Envelope>(await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: a.assetId, time: T0 + 60 * MIN, measurepoints: { IntMeasurePoint1: -1 } }], [], { realtime: false })).code).toBe(0);
});
afterAll(() => t.close());

async function post(path: string, body: unknown, token = reader.token, org = 'o-read') {
  const res = await fetch(`${t.url}${path}${path.includes('?') ? '&' : '?'}orgId=${org}`, { method: 'POST', headers: { 'content-type': 'application/json', 'apim-accesstoken': token }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { code: number; msg: string; submsg?: null; data: any } };
}

describe('connection service: queryLatest', () => {
  it('answers the latest real-time values with time as a string of milliseconds', async () => {
    const r = await post(`/connect-service/v2.1/measurepoints?action=queryLatest&assetId=${a.assetId}`, { measurepointIds: ['IntMeasurePoint1', 'QualityPoint1'] });
    expect(r.status).toBe(200);
    expect(r.body.code).toBe(0);
    expect(r.body.data).toEqual(
      expect.arrayContaining([
        { id: 'IntMeasurePoint1', time: String(T0 + 9 * MIN), value: 9 },
        { id: 'QualityPoint1', time: String(T0 + 30_000), value: 7.5 },
      ]),
    );
    expect(r.body.data).toHaveLength(2);
  });

  it('answers every point without measurepointIds, by productKey+deviceKey', async () => {
    const r = await post(`/connect-service/v2.1/measurepoints?action=queryLatest&productKey=pkRead&deviceKey=devReadB`, {});
    expect(r.body.code).toBe(0);
    expect(r.body.data.map((x: { id: string }) => x.id).sort()).toEqual(['DoubleMeasurePoint1', 'IntMeasurePoint1', 'QualityPoint1']);
  });

  it('answers 99404 for an unknown device and for another organisation', async () => {
    expect((await post('/connect-service/v2.1/measurepoints?action=queryLatest&assetId=nope', {})).body).toMatchObject({ code: 99404, data: null });
    expect((await post(`/connect-service/v2.1/measurepoints?action=queryLatest&assetId=${a.assetId}`, {}, other.token, 'o-read-other')).body).toMatchObject({ code: 99404, data: null });
    expect((await post(`/connect-service/v2.1/measurepoints?action=queryLatest&assetId=${a.assetId}`, {}, other.token, 'o-read')).body).toMatchObject({ code: 99404, data: null });
  });
});

describe('TSDB /raw', () => {
  const base = { pointIds: 'IntMeasurePoint1,DoubleMeasurePoint1', startTime: '2020-04-20T00:00:00+08:00', endTime: '2020-04-20T00:10:00+08:00' };

  it('answers itemFormat 0 with the point id as key, timestamp, localtime in the device timezone', async () => {
    const r = await post('/tsdb-service/v2.1/raw', { ...base, assetIds: a.assetId, localTimeFormat: 1, itemFormat: 0 });
    expect(r.body).toMatchObject({ code: 0, msg: 'OK', submsg: null });
    const items = r.body.data.items as Record<string, unknown>[];
    expect(items).toHaveLength(16);
    expect(items[0]).toEqual({ assetId: a.assetId, timestamp: T0, IntMeasurePoint1: 0, localtime: '2020-04-20T00:00:00+08:00' });
    expect(items.filter((i) => 'DoubleMeasurePoint1' in i).map((i) => i['DoubleMeasurePoint1'])).toEqual([0, 1.5, 3, 4.5, 6]);
  });

  it('reads local times in each device\'s own timezone', async () => {
    const r = await post('/tsdb-service/v2.1/raw', { ...base, assetIds: `${a.assetId},${b.assetId}`, startTime: '2020-04-20 00:00:00', endTime: '2020-04-20 00:10:00', localTimeAccuracy: true });
    const items = r.body.data.items as Record<string, unknown>[];
    // Device B is on UTC: its 00:00-00:10 local window is 8 hours later and empty.
    expect(new Set(items.map((i) => i['assetId']))).toEqual(new Set([a.assetId]));
    expect(items[0]?.['localtime']).toBe('2020-04-20 00:00:00.000');
  });

  it('applies pageSize per device and point, orderBy desc and withQuality', async () => {
    const r = await post('/tsdb-service/v2.1/raw', { assetIds: b.assetId, pointIds: 'IntMeasurePoint1,QualityPoint1', startTime: '2020-04-19T16:00:00Z', endTime: '2020-04-19T17:00:00Z', pageSize: 2, orderBy: 'timestamp desc', withQuality: 'true' });
    const items = r.body.data.items as Record<string, unknown>[];
    expect(items.filter((i) => 'IntMeasurePoint1' in i).map((i) => i['timestamp'])).toEqual([T0 + 9 * MIN, T0 + 8 * MIN]);
    expect(items.find((i) => 'QualityPoint1' in i)).toMatchObject({ QualityPoint1: 7.5, quality: '3' });
  });

  it('merges points of one timestamp with itemFormat 1 and returns parallel arrays with itemFormat 2', async () => {
    const one = (await post('/tsdb-service/v2.1/raw', { ...base, assetIds: a.assetId, itemFormat: 1 })).body.data.items as Record<string, unknown>[];
    expect(one[0]).toEqual({ assetId: a.assetId, timestamp: T0, localtime: '2020-04-20 00:00:00', IntMeasurePoint1: 0, DoubleMeasurePoint1: 0 });
    expect(one).toHaveLength(11);
    const two = (await post('/tsdb-service/v2.1/raw', { ...base, assetIds: a.assetId, itemFormat: 2, withQuality: true })).body.data.items as Record<string, any>[];
    const dbl = two.find((s) => s['pointId'] === 'DoubleMeasurePoint1')!;
    expect(dbl).toMatchObject({ assetId: a.assetId, value: [0, 1.5, 3, 4.5, 6], timestamp: [T0, T0 + 2 * MIN, T0 + 4 * MIN, T0 + 6 * MIN, T0 + 8 * MIN], dataQuality: [null, null, null, null, null] });
    expect(dbl['localTime']).toHaveLength(5);
  });

  it('answers 80400 for bad parameters and 80401 for devices or organisations the caller cannot read', async () => {
    expect((await post('/tsdb-service/v2.1/raw', { ...base, assetIds: a.assetId, startTime: '2020/04/20' })).body.code).toBe(80400);
    expect((await post('/tsdb-service/v2.1/raw', { ...base, assetIds: a.assetId, itemFormat: 3 })).body.code).toBe(80400);
    expect((await post('/tsdb-service/v2.1/raw', { ...base, assetIds: a.assetId, pageSize: 400_000 })).body.code).toBe(80400);
    expect((await post('/tsdb-service/v2.1/raw', { ...base, assetIds: a.assetId, startTime: '2020-04-20 00:00:00' })).body.code).toBe(80400);
    expect((await post('/tsdb-service/v2.1/raw', { ...base, assetIds: 'nope' })).body).toMatchObject({ code: 80401, data: null });
    expect((await post('/tsdb-service/v2.1/raw', { ...base, assetIds: a.assetId }, other.token, 'o-read-other')).body.code).toBe(80401);
    expect((await post('/tsdb-service/v2.1/raw', { ...base, assetIds: a.assetId }, other.token, 'o-read')).body.code).toBe(80401);
    const noToken = await fetch(`${t.url}/tsdb-service/v2.1/raw?orgId=o-read`, { method: 'POST', body: '{}' });
    expect(noToken.status).toBe(401);
  });
});

describe('TSDB /ai-normalized', () => {
  it('aggregates pointIdsWithLogic over interval-minute buckets labelled by their end', async () => {
    const r = await post('/tsdb-service/v2.1/ai-normalized', { assetIds: a.assetId, pointIdsWithLogic: 'count(IntMeasurePoint1),avg(DoubleMeasurePoint1)', interval: 10, startTime: '2020-04-20 00:00:00', endTime: '2020-04-20 00:20:00', localTimeFormat: 0 });
    expect(r.body.code).toBe(0);
    expect(r.body.data.items).toEqual([
      { assetId: a.assetId, timestamp: T0 + 10 * MIN, 'count(IntMeasurePoint1)': 11, localtime: '2020-04-20 00:10:00' },
      { assetId: a.assetId, timestamp: T0 + 10 * MIN, 'avg(DoubleMeasurePoint1)': 3, localtime: '2020-04-20 00:10:00' },
    ]);
  });

  it('returns the per-minute normalized series (last value of each minute) with interval 0', async () => {
    const r = await post('/tsdb-service/v2.1/ai-normalized', { assetIds: b.assetId, pointIdsWithLogic: 'IntMeasurePoint1', interval: 0, startTime: '2020-04-19T16:00:00Z', endTime: '2020-04-19T16:10:00Z', itemFormat: 2 });
    expect(r.body.data.items[0]).toMatchObject({ assetId: b.assetId, pointId: 'IntMeasurePoint1', value: [100, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
  });

  it('refuses a function with interval 0, a plain id with an interval, and an interval above 1440', async () => {
    const q = { assetIds: a.assetId, startTime: '2020-04-19T16:00:00Z', endTime: '2020-04-19T17:00:00Z' };
    for (const extra of [{ pointIdsWithLogic: 'avg(IntMeasurePoint1)', interval: 0 }, { pointIdsWithLogic: 'IntMeasurePoint1', interval: 5 }, { pointIdsWithLogic: 'avg(IntMeasurePoint1)', interval: 1441 }, { pointIdsWithLogic: 'median(IntMeasurePoint1)', interval: 5 }]) {
      expect((await post('/tsdb-service/v2.1/ai-normalized', { ...q, ...extra })).body.code).toBe(80400);
    }
  });
});

describe('TSDB /latest', () => {
  it('answers the latest values with localtime when asked, offline data excluded', async () => {
    const r = await post('/tsdb-service/v2.1/latest', { assetIds: `${a.assetId},${b.assetId}`, pointIds: 'IntMeasurePoint1', ifWithLocalTime: 'true', localTimeFormat: 1, itemFormat: 0 });
    expect(r.body.data.items).toEqual([
      { assetId: a.assetId, timestamp: T0 + 9 * MIN, IntMeasurePoint1: 9, localtime: '2020-04-20T00:09:00+08:00' },
      { assetId: b.assetId, timestamp: T0 + 9 * MIN, IntMeasurePoint1: 9, localtime: '2020-04-19T16:09:00+00:00' },
    ]);
  });

  it('leaves out values older than timeWindow minutes', async () => {
    const r = await post('/tsdb-service/v2.1/latest', { assetIds: a.assetId, pointIds: 'IntMeasurePoint1', timeWindow: 10 });
    expect(r.body).toMatchObject({ code: 0, data: { items: [] } });
  });
});
