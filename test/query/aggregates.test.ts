import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { insertPoints, seedFleet, type Fleet, type PointRow } from '../fixtures/seed-data';

const T0 = Date.UTC(2026, 0, 10, 0, 0, 0);
const SEC = 1000;
const MIN = 60_000;
const HOUR = 3_600_000;

let t: TestApp;
let admin: Tenant;
let fleet: Fleet;

const AGG = `query($devices: DeviceSelector!, $aggregates: [AggregateInput!]!, $from: Timestamp!, $to: Timestamp!, $interval: String!, $timezone: String, $fill: GapFill) {
  pointAggregates(devices: $devices, aggregates: $aggregates, from: $from, to: $to, interval: $interval, timezone: $timezone, fill: $fill) {
    assetId times columns { point function values } } }`;
const ALL = ['AVG', 'MIN', 'MAX', 'SUM', 'COUNT', 'FIRST', 'LAST', 'STDDEV'].map((f) => ({ point: 'power', function: f }));

/** Hourly `temp` values of device 2, on the hour, from `start` for `hours`. */
function hourly(start: number, hours: number): PointRow[] {
  return Array.from({ length: hours }, (_, i) => ({ deviceId: fleet.devices[2]!.id, pointId: fleet.points['temp']!, time: start + i * HOUR, value: i }));
}

beforeAll(async () => {
  t = await startTestApp({ QUERY_MAX_AGGREGATE_VALUES: '20000', QUERY_MAX_SERIES: '10' });
  admin = await t.tenant('o-agg');
  fleet = await seedFleet(t.db, 'o-agg', { productKey: 'agg-inv', count: 3 });
  const [d0, d1] = fleet.devices;
  const rows: PointRow[] = [];
  // d0.power: minute 0 -> 1,2,3; minute 1 -> 10 (twice: retried, replaced by 20); minute 2 empty; minute 3 -> 5, 7.
  rows.push({ deviceId: d0!.id, pointId: fleet.points['power']!, time: T0, value: 1 });
  rows.push({ deviceId: d0!.id, pointId: fleet.points['power']!, time: T0 + 20 * SEC, value: 2 });
  rows.push({ deviceId: d0!.id, pointId: fleet.points['power']!, time: T0 + 40 * SEC, value: 3 });
  rows.push({ deviceId: d0!.id, pointId: fleet.points['power']!, time: T0 + MIN + 5 * SEC, value: 10 });
  rows.push({ deviceId: d0!.id, pointId: fleet.points['power']!, time: T0 + 3 * MIN, value: 5, offline: true });
  rows.push({ deviceId: d0!.id, pointId: fleet.points['power']!, time: T0 + 3 * MIN + 30 * SEC, value: 7 });
  rows.push({ deviceId: d1!.id, pointId: fleet.points['power']!, time: T0 + 2 * MIN, value: 50 });
  rows.push({ deviceId: d1!.id, pointId: fleet.points['temp']!, time: T0 + 2 * MIN, value: 21.5 });
  rows.push({ deviceId: d0!.id, pointId: fleet.points['mode']!, time: T0 + 2 * MIN, value: 'eco' });
  await insertPoints(t.db, rows);
  await insertPoints(t.db, [{ deviceId: d0!.id, pointId: fleet.points['power']!, time: T0 + MIN + 5 * SEC, value: 20 }]);
  // Hourly data around both 2026 Berlin DST switches (29 March, 25 October) and in January.
  await insertPoints(t.db, [...hourly(Date.UTC(2026, 2, 27, 0), 24 * 5), ...hourly(Date.UTC(2026, 9, 23, 0), 24 * 5)]);
});
afterAll(() => t.close());

const cols = (r: { data: any }) => Object.fromEntries(r.data.pointAggregates[0].columns.map((c: { function: string; values: unknown[] }) => [c.function, c.values]));

describe('pointAggregates', () => {
  it('computes every function per 1-minute bucket, omitting empty buckets, with retried duplicates counted once', async () => {
    const r = await t.gql(admin.token, AGG, { devices: { assetIds: [fleet.devices[0]!.assetId] }, aggregates: ALL, from: T0, to: T0 + 10 * MIN, interval: '1 minute' });
    expect(r.errors).toBeUndefined();
    expect(r.data!.pointAggregates[0].times).toEqual([T0, T0 + MIN, T0 + 3 * MIN]);
    const c = cols(r);
    expect(c['AVG']).toEqual([2, 20, 6]);
    expect(c['MIN']).toEqual([1, 20, 5]);
    expect(c['MAX']).toEqual([3, 20, 7]);
    expect(c['SUM']).toEqual([6, 20, 12]);
    expect(c['COUNT']).toEqual([3, 1, 2]);
    expect(c['FIRST']).toEqual([1, 20, 5]);
    expect(c['LAST']).toEqual([3, 20, 7]);
    expect(c['STDDEV']![0]).toBeCloseTo(1, 10);
    expect(c['STDDEV']![1]).toBeNull();
    expect(c['STDDEV']![2]).toBeCloseTo(Math.SQRT2, 10);
  });

  it('fills empty buckets with null or the previous value, and counts them as 0', async () => {
    const args = { devices: { assetIds: [fleet.devices[0]!.assetId] }, aggregates: [{ point: 'power', function: 'AVG' }, { point: 'power', function: 'COUNT' }], from: T0, to: T0 + 5 * MIN, interval: '1 minute' };
    const nul = await t.gql(admin.token, AGG, { ...args, fill: 'NULL' });
    expect(nul.data!.pointAggregates[0].times).toEqual([0, 1, 2, 3, 4].map((m) => T0 + m * MIN));
    expect(cols(nul)).toEqual({ AVG: [2, 20, null, 6, null], COUNT: [3, 1, 0, 2, 0] });
    const prev = await t.gql(admin.token, AGG, { ...args, fill: 'PREVIOUS' });
    expect(cols(prev)).toEqual({ AVG: [2, 20, 20, 6, 6], COUNT: [3, 1, 0, 2, 0] });
  });

  it('gives the same buckets as one JSON array per field in timesJson and valuesJson', async () => {
    const BULK = `query($devices: DeviceSelector!, $aggregates: [AggregateInput!]!, $from: Timestamp!, $to: Timestamp!, $interval: String!, $fill: GapFill) {
      pointAggregates(devices: $devices, aggregates: $aggregates, from: $from, to: $to, interval: $interval, fill: $fill) { times timesJson columns { values valuesJson } } }`;
    const args = { devices: { assetIds: [fleet.devices[0]!.assetId] }, aggregates: [{ point: 'power', function: 'AVG' }, { point: 'power', function: 'COUNT' }], from: T0, to: T0 + 5 * MIN, interval: '1 minute', fill: 'NULL' };
    const r = await t.gql(admin.token, BULK, args);
    expect(r.errors).toBeUndefined();
    const [d] = r.data!.pointAggregates;
    expect(d.timesJson).toEqual([0, 1, 2, 3, 4].map((m) => T0 + m * MIN));
    expect(d.timesJson).toEqual(d.times);
    expect(d.columns.map((c: { valuesJson: unknown }) => c.valuesJson)).toEqual([
      [2, 20, null, 6, null],
      [3, 1, 0, 2, 0],
    ]);
    for (const c of d.columns) expect(c.valuesJson).toEqual(c.values);
  });

  it('reads many devices and different points per call, one column per aggregate in request order', async () => {
    const r = await t.gql(admin.token, AGG, {
      devices: { productKey: 'agg-inv' },
      aggregates: [{ point: 'power', function: 'MAX' }, { point: 'temp', function: 'AVG' }, { point: 'mode', function: 'COUNT' }],
      from: T0,
      to: T0 + 10 * MIN,
      interval: '5 minutes',
    });
    expect(r.errors).toBeUndefined();
    const [a, b, c] = r.data!.pointAggregates;
    expect(a).toEqual({ assetId: fleet.devices[0]!.assetId, times: [T0], columns: [{ point: 'power', function: 'MAX', values: [20] }, { point: 'temp', function: 'AVG', values: [null] }, { point: 'mode', function: 'COUNT', values: [1] }] });
    expect(b.columns.map((x: { values: unknown[] }) => x.values)).toEqual([[50], [21.5], [0]]);
    expect(c).toEqual({ assetId: fleet.devices[2]!.assetId, times: [], columns: [{ point: 'power', function: 'MAX', values: [] }, { point: 'temp', function: 'AVG', values: [] }, { point: 'mode', function: 'COUNT', values: [] }] });
  });

  it('makes 1-day buckets in Europe/Berlin follow local midnight across the March switch (23-hour day)', async () => {
    const r = await t.gql(admin.token, AGG, {
      devices: { assetIds: [fleet.devices[2]!.assetId] },
      aggregates: [{ point: 'temp', function: 'COUNT' }],
      from: Date.UTC(2026, 2, 27, 23),
      to: Date.UTC(2026, 2, 30, 22),
      interval: '1 day',
      timezone: 'Europe/Berlin',
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.pointAggregates[0].times.map((x: number) => new Date(x).toISOString())).toEqual(['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z']);
    expect(cols(r)['COUNT']).toEqual([24, 23, 24]);
  });

  it('makes 1-day buckets in Europe/Berlin last 25 hours on the October switch, and keeps the repeated hour as two hour buckets', async () => {
    const day = await t.gql(admin.token, AGG, {
      devices: { assetIds: [fleet.devices[2]!.assetId] },
      aggregates: [{ point: 'temp', function: 'COUNT' }],
      from: Date.UTC(2026, 9, 23, 22),
      to: Date.UTC(2026, 9, 26, 23),
      interval: '1 day',
      timezone: 'Europe/Berlin',
      fill: 'NULL',
    });
    expect(day.data!.pointAggregates[0].times.map((x: number) => new Date(x).toISOString())).toEqual(['2026-10-23T22:00:00.000Z', '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']);
    expect(cols(day)['COUNT']).toEqual([24, 25, 24]);
    const hours = await t.gql(admin.token, AGG, {
      devices: { assetIds: [fleet.devices[2]!.assetId] },
      aggregates: [{ point: 'temp', function: 'COUNT' }],
      from: Date.UTC(2026, 9, 24, 22),
      to: Date.UTC(2026, 9, 25, 23),
      interval: '1 hour',
      timezone: 'Europe/Berlin',
      fill: 'NULL',
    });
    expect(hours.data!.pointAggregates[0].times).toHaveLength(25);
    expect(cols(hours)['COUNT']).toEqual(Array(25).fill(1));
  });

  it('aligns buckets to a UTC offset given as +08:00', async () => {
    const r = await t.gql(admin.token, AGG, {
      devices: { assetIds: [fleet.devices[2]!.assetId] },
      aggregates: [{ point: 'temp', function: 'COUNT' }],
      from: Date.UTC(2026, 2, 27, 16),
      to: Date.UTC(2026, 2, 29, 16),
      interval: '1 day',
      timezone: '+08:00',
    });
    expect(r.data!.pointAggregates[0].times.map((x: number) => new Date(x).toISOString())).toEqual(['2026-03-27T16:00:00.000Z', '2026-03-28T16:00:00.000Z']);
    expect(cols(r)['COUNT']).toEqual([24, 24]);
  });

  it('answers empty buckets for an empty range with gap filling, and none without', async () => {
    const base = { devices: { assetIds: [fleet.devices[1]!.assetId] }, aggregates: [{ point: 'power', function: 'AVG' }], from: T0 + HOUR, to: T0 + 2 * HOUR, interval: '15 minutes' };
    const none = await t.gql(admin.token, AGG, base);
    expect(none.data!.pointAggregates).toEqual([{ assetId: fleet.devices[1]!.assetId, times: [], columns: [{ point: 'power', function: 'AVG', values: [] }] }]);
    const nul = await t.gql(admin.token, AGG, { ...base, fill: 'PREVIOUS' });
    expect(nul.data!.pointAggregates[0].times).toEqual([0, 1, 2, 3].map((i) => T0 + HOUR + i * 15 * MIN));
    expect(nul.data!.pointAggregates[0].columns[0].values).toEqual([null, null, null, null]);
  });

  it('refuses months, unknown intervals and timezones, non-numeric points and results above the bounds', async () => {
    const base = { devices: { assetIds: [fleet.devices[0]!.assetId] }, aggregates: [{ point: 'power', function: 'AVG' }], from: T0, to: T0 + HOUR, interval: '1 minute' };
    for (const bad of [{ interval: '1 month' }, { interval: 'often' }, { interval: '0 minutes' }, { timezone: 'Mars/Olympus' }, { aggregates: [{ point: 'mode', function: 'AVG' }] }, { aggregates: [{ point: 'nope', function: 'AVG' }] }, { to: T0 - 1 }]) {
      const r = await t.gql(admin.token, AGG, { ...base, ...bad });
      expect(errorCode(r), JSON.stringify(bad)).toBe('BAD_USER_INPUT');
    }
    const many = await t.gql(admin.token, AGG, { ...base, interval: '1 second', to: T0 + 24 * HOUR });
    expect(errorCode(many)).toBe('BAD_USER_INPUT');
    expect(many.errors![0]!.message).toContain('QUERY_MAX_AGGREGATE_VALUES');
    const series = await t.gql(admin.token, AGG, { ...base, devices: { productKey: 'agg-inv' }, aggregates: ALL });
    expect(series.errors![0]!.message).toContain('QUERY_MAX_SERIES');
  });
});
