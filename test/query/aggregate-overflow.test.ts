import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { json, type Envelope } from '../rest/enos-wire';
import { createSampleDevices, sdkPost, type SampleDevice } from '../rest/fixtures';

/*
 * Every finite double is a valid measurement: aggregates over the largest ones answer (or refuse
 * a SUM/STDDEV a double cannot hold, with a clear error), never fail inside the database, and
 * another organisation's requests are untouched while such queries run.
 */

const T0 = Date.UTC(2026, 1, 2, 0, 0, 0);
const MIN = 60_000;
const BIG = 1e308;
const MAX = Number.MAX_VALUE;

let t: TestApp;
let big: Tenant;
let calm: Tenant;
let bigDevice: SampleDevice;
let calmDevice: SampleDevice;

/** The values posted per one-minute bucket. */
const BUCKETS: number[][] = [
  [BIG, BIG],
  [-BIG, -BIG],
  [BIG, -BIG, 5],
  [MAX, -MAX],
  [MAX, MAX],
];

const AGG = `query($devices: DeviceSelector!, $aggregates: [AggregateInput!]!, $from: Timestamp!, $to: Timestamp!, $interval: String!) {
  pointAggregates(devices: $devices, aggregates: $aggregates, from: $from, to: $to, interval: $interval) { assetId times columns { function values } } }`;

function aggregate(who: Tenant, device: SampleDevice, functions: readonly string[], fromBucket: number, toBucket: number) {
  return t.gql(who.token, AGG, {
    devices: { assetIds: [device.assetId] },
    aggregates: functions.map((f) => ({ point: 'DoubleMeasurePoint1', function: f })),
    from: T0 + fromBucket * MIN,
    to: T0 + toBucket * MIN,
    interval: '1 minute',
  });
}

const columns = (r: { data: any }) => Object.fromEntries(r.data.pointAggregates[0].columns.map((c: { function: string; values: unknown[] }) => [c.function, c.values]));

beforeAll(async () => {
  t = await startTestApp();
  big = await t.tenant('o-big');
  calm = await t.tenant('o-calm');
  [bigDevice] = (await createSampleDevices(t, big, 'pkBig', ['devBig'])) as [SampleDevice];
  [calmDevice] = (await createSampleDevices(t, calm, 'pkCalm', ['devCalm'])) as [SampleDevice];
  const posts = BUCKETS.flatMap((values, b) => values.map((v, i) => ({ assetId: bigDevice.assetId, time: T0 + b * MIN + i * 1000, measurepoints: { DoubleMeasurePoint1: v } })));
  expect(json<Envelope>(await sdkPost(t, big, 'postMeasurepoint', posts)).code).toBe(0);
  const calmPosts = [1, 2, 3, 4].map((v, i) => ({ assetId: calmDevice.assetId, time: T0 + i * 1000, measurepoints: { DoubleMeasurePoint1: v } }));
  expect(json<Envelope>(await sdkPost(t, calm, 'postMeasurepoint', calmPosts)).code).toBe(0);
});
afterAll(() => t.close());

describe('aggregates over the largest doubles', () => {
  it('answers AVG, MIN, MAX, COUNT, FIRST and LAST exactly, +-1e308 and mixes included', async () => {
    const r = await aggregate(big, bigDevice, ['AVG', 'MIN', 'MAX', 'COUNT', 'FIRST', 'LAST'], 0, 5);
    expect(r.errors).toBeUndefined();
    expect(r.data!['pointAggregates'][0].times).toEqual(BUCKETS.map((_, b) => T0 + b * MIN));
    expect(columns(r)).toEqual({
      AVG: [BIG, -BIG, 5 / 3, 0, MAX],
      MIN: [BIG, -BIG, -BIG, -MAX, MAX],
      MAX: [BIG, -BIG, BIG, MAX, MAX],
      COUNT: [2, 2, 3, 2, 2],
      FIRST: [BIG, -BIG, BIG, MAX, MAX],
      LAST: [BIG, -BIG, 5, -MAX, MAX],
    });
  });

  it('answers SUM where the sum is a double, and refuses it with BAD_USER_INPUT where it is not', async () => {
    const ok = await aggregate(big, bigDevice, ['SUM'], 2, 4);
    expect(ok.errors).toBeUndefined();
    expect(columns(ok)).toEqual({ SUM: [5, 0] });
    for (const [from, to] of [
      [0, 1],
      [1, 2],
      [4, 5],
      [0, 5],
    ] as const) {
      const r = await aggregate(big, bigDevice, ['AVG', 'SUM'], from, to);
      expect(errorCode(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.message).toMatch(/SUM of DoubleMeasurePoint1 exceeds the range of a double/);
      expect(r.errors![0]!.extensions!.details).toEqual({ point: 'DoubleMeasurePoint1', function: 'SUM' });
    }
  });

  it('answers STDDEV where it is a double, and refuses it with BAD_USER_INPUT where it is not', async () => {
    const ok = await aggregate(big, bigDevice, ['STDDEV'], 0, 3);
    expect(ok.errors).toBeUndefined();
    const [s0, s1, s2] = columns(ok)['STDDEV'] as number[];
    expect(s0).toBe(0);
    expect(s1).toBe(0);
    // Sample standard deviation of 1e308, -1e308 and 5: 1e308 within rounding.
    expect(s2! / BIG).toBeCloseTo(1, 12);
    const r = await aggregate(big, bigDevice, ['STDDEV'], 3, 4);
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions!.details).toEqual({ point: 'DoubleMeasurePoint1', function: 'STDDEV' });
  });
});

describe('another organisation while one queries the largest doubles', () => {
  it('gets every answer right, with its own token and data', async () => {
    let stop = false;
    const bigErrors = new Map<string, number>();
    const readers = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 40 && !stop; i++) {
        const r = await aggregate(big, bigDevice, ['AVG', 'STDDEV', 'SUM'], 0, 5);
        const code = errorCode(r) ?? 'none';
        bigErrors.set(code, (bigErrors.get(code) ?? 0) + 1);
      }
    });
    const wrong: unknown[] = [];
    try {
      for (let i = 0; i < 60; i++) {
        const me = await t.gql(calm.token, '{ me { organisation { id } } }');
        if (me.errors || me.data?.['me']?.organisation?.id !== 'o-calm') wrong.push(me);
        const a = await t.gql(calm.token, AGG, {
          devices: { assetIds: [calmDevice.assetId] },
          aggregates: ['AVG', 'SUM', 'COUNT', 'STDDEV'].map((f) => ({ point: 'DoubleMeasurePoint1', function: f })),
          from: T0,
          to: T0 + MIN,
          interval: '1 minute',
        });
        const c = a.errors ? null : columns(a);
        if (!c || c['AVG'][0] !== 2.5 || c['SUM'][0] !== 10 || c['COUNT'][0] !== 4 || Math.abs(c['STDDEV'][0] - Math.sqrt(5 / 3)) > 1e-12) wrong.push(a);
      }
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    expect(wrong).toEqual([]);
    // The other organisation's queries were refused cleanly, never with an internal error.
    expect([...bigErrors.keys()]).toEqual(['BAD_USER_INPUT']);
  });
});
