import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { post, Q, rows, setupMeters, T0 } from './fixtures';

let t: TestApp;
let org: Tenant;
let assets: string[];

beforeAll(async () => {
  t = await startTestApp();
  org = await t.tenant('o-proc');
  assets = await setupMeters(t, org, 'pkProc', 6);
});
afterAll(() => t.close());

const setSteps = async (point: string, steps: unknown[], keepRaw = false) => {
  const r = await t.gql(org.token, Q.setProcessing, { m: 'Meter', p: point, i: { steps, keepRaw } });
  expect(r.errors).toBeUndefined();
  return r;
};
const nums = async (asset: string, point: string, table: 'point_data' | 'point_raw_values' = 'point_data') => (await rows(t, table, asset, point)).map((r) => r.num);

describe('processing policies apply each step before storage', () => {
  it('scales a value by multiplier and offset and rounds an INT point', async () => {
    await setSteps('temp', [{ scale: { multiplier: 1.8, offset: 32 } }]);
    await setSteps('counter', [{ scale: { multiplier: 0.5 } }]);
    await post(t, org, [{ assetId: assets[0]!, time: T0, values: { temp: 100, counter: 3 } }, { assetId: assets[0]!, time: T0 + 1, values: { temp: -40, counter: -3 } }]);
    expect(await nums(assets[0]!, 'temp')).toEqual([212, -40]);
    expect(await nums(assets[0]!, 'counter')).toEqual([2, -1]);
  });

  it('drops values outside a range and keeps the bounds themselves', async () => {
    await setSteps('power', [{ range: { min: 0, max: 100, action: 'DROP' } }]);
    const values = [-0.0001, 0, 50, 100, 100.0001];
    await post(t, org, values.map((v, i) => ({ assetId: assets[1]!, time: T0 + i, values: { power: v } })));
    expect(await nums(assets[1]!, 'power')).toEqual([0, 50, 100]);
  });

  it('clamps values outside a range to the nearest bound', async () => {
    await setSteps('power', [{ range: { min: 0, max: 100, action: 'CLAMP' } }]);
    await post(t, org, [-5, 0, 100, 150].map((v, i) => ({ assetId: assets[2]!, time: T0 + i, values: { power: v } })));
    expect(await nums(assets[2]!, 'power')).toEqual([0, 0, 100, 100]);
  });

  it('keeps values outside a range with quality BAD (9) when the action is MARK_BAD', async () => {
    await setSteps('level', [{ range: { max: 10, action: 'MARK_BAD' } }]);
    await post(t, org, [
      { assetId: assets[0]!, time: T0, values: { level: { value: 10, quality: 0 } } },
      { assetId: assets[0]!, time: T0 + 1, values: { level: { value: 10.5, quality: 0 } } },
    ]);
    expect((await rows(t, 'point_data', assets[0]!, 'level')).map((r) => [r.num, r.quality])).toEqual([
      [10, 0],
      [10.5, 9],
    ]);
  });

  it('keeps a value only when it moved by more than the deadband delta', async () => {
    await setSteps('voltage', [{ deadband: { delta: 1 } }]);
    const seq = [10, 10.5, 11, 11.01, 10.5, 9.9];
    for (const [i, v] of seq.entries()) await post(t, org, [{ assetId: assets[3]!, time: T0 + i * 1000, values: { voltage: v } }]);
    // 10 kept (first); 10.5 and 11 moved by <= 1; 11.01 moved by 1.01; 10.5 by 0.51; 9.9 by 1.11.
    expect(await nums(assets[3]!, 'voltage')).toEqual([10, 11.01, 9.9]);
  });

  it('keeps an unchanged value once the deadband interval has passed, and applies the deadband within one batch', async () => {
    await setSteps('current', [{ deadband: { delta: 5, intervalS: 60 } }]);
    await post(t, org, [
      { assetId: assets[4]!, time: T0, values: { current: 1 } },
      { assetId: assets[4]!, time: T0 + 59_999, values: { current: 1 } },
      { assetId: assets[4]!, time: T0 + 60_000, values: { current: 1 } },
      { assetId: assets[4]!, time: T0 + 61_000, values: { current: 7 } },
    ]);
    expect((await rows(t, 'point_data', assets[4]!, 'current')).map((r) => r.t - T0)).toEqual([0, 60_000, 61_000]);
  });

  it('lets late data older than the last kept value pass the deadband', async () => {
    await post(t, org, [{ assetId: assets[4]!, time: T0 - 1000, values: { current: 1 } }], 'OFFLINE');
    expect((await rows(t, 'point_data', assets[4]!, 'current')).map((r) => r.t - T0)).toEqual([-1000, 0, 60_000, 61_000]);
  });

  it('maps enum values and leaves unmapped ones unchanged', async () => {
    await setSteps('state', [{ enumMap: { mapping: { '0': '2' } } }]);
    await post(t, org, [0, 1].map((v, i) => ({ assetId: assets[5]!, time: T0 + i, values: { state: v } })));
    expect(await nums(assets[5]!, 'state')).toEqual([2, 1]);
  });

  it('runs steps in order and keeps the raw values as received when asked', async () => {
    await setSteps('temp', [{ scale: { multiplier: 10 } }, { range: { max: 500, action: 'DROP' } }], true);
    await post(t, org, [30, 60].map((v, i) => ({ assetId: assets[5]!, time: T0 + i, values: { temp: v } })));
    expect(await nums(assets[5]!, 'temp')).toEqual([300]);
    expect(await nums(assets[5]!, 'temp', 'point_raw_values')).toEqual([30, 60]);
  });

  it('shows the effective processing policy of a point with the model version it was saved against', async () => {
    const r = await t.gql(org.token, Q.effective, { m: 'Meter', p: 'temp' });
    expect(r.errors).toBeUndefined();
    expect(r.data?.['effectivePointPolicy']).toMatchObject({ model: 'Meter', point: 'temp', processing: { steps: [{ kind: 'SCALE' }, { kind: 'RANGE' }], keepRaw: true } });
    const saved = await t.gql(org.token, Q.setProcessing, { m: 'Meter', p: 'temp', i: { steps: [{ scale: { multiplier: 2, offset: 1 } }] } });
    expect(saved.data?.['setProcessingPolicy']).toEqual({ point: 'temp', keepRaw: false, modelVersion: 1, steps: [{ kind: 'SCALE', multiplier: 2, offset: 1, min: null, max: null, action: null, delta: null, intervalS: null, mapping: null }] });
  });

  it('stops processing a point after its policy is deleted, without rewriting stored data', async () => {
    const before = await nums(assets[1]!, 'power');
    expect((await t.gql(org.token, Q.deleteProcessing, { m: 'Meter', p: 'power' })).data?.['deleteProcessingPolicy']).toBe(true);
    await post(t, org, [{ assetId: assets[1]!, time: T0 + 100, values: { power: 500 } }]);
    expect(await nums(assets[1]!, 'power')).toEqual([...before, 500]);
  });
});

describe('processing policies are validated when saved', () => {
  const bad: [string, string, unknown[], string][] = [
    ['an enum map on a DOUBLE point', 'power', [{ enumMap: { mapping: { '1': '2' } } }], 'needs an ENUM point'],
    ['a scale on a STRING point', 'label', [{ scale: { multiplier: 2 } }], 'needs a numeric point'],
    ['a range with min above max', 'power', [{ range: { min: 5, max: 1, action: 'DROP' } }], 'min 5 above max 1'],
    ['a range without bounds', 'power', [{ range: { action: 'DROP' } }], 'needs min or max'],
    ['a deadband without delta or interval', 'power', [{ deadband: {} }], 'needs delta or intervalS'],
    ['a step with two kinds', 'power', [{ scale: { multiplier: 1 }, range: { min: 0, action: 'DROP' } }], 'exactly one'],
    ['an enum map to a key the enum lacks', 'state', [{ enumMap: { mapping: { '0': '7' } } }], 'not a value of state'],
    ['a point the model lacks', 'nope', [{ scale: { multiplier: 1 } }], 'has no measurement point nope'],
  ];
  it.each(bad)('refuses %s with BAD_USER_INPUT naming the problem', async (_, point, steps, message) => {
    const r = await t.gql(org.token, Q.setProcessing, { m: 'Meter', p: point, i: { steps } });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toContain(message);
  });
});

describe('policy changes reach every instance', () => {
  it('applies a policy saved on one instance to new data on another within the cache TTL', async () => {
    const other = await startTestApp({ POLICY_CACHE_TTL_MS: '200' }, { tdb: t.tdb });
    try {
      await setSteps('temp', [{ scale: { multiplier: 1 } }]);
      const viaOther = { ...org, token: await other.token(org.accessKey, org.secretKey) };
      await post(other, viaOther, [{ assetId: assets[2]!, time: T0 + 1000, values: { temp: 1 } }]);
      await setSteps('temp', [{ scale: { multiplier: 100 } }]);
      await new Promise((r) => setTimeout(r, 300));
      await post(other, viaOther, [{ assetId: assets[2]!, time: T0 + 2000, values: { temp: 1 } }]);
      expect(await nums(assets[2]!, 'temp')).toEqual([1, 100]);
    } finally {
      await other.close();
    }
  });
});
