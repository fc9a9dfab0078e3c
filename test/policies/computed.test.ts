import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { post, Q, rows, setupMeters, T0 } from './fixtures';

let t: TestApp;
let org: Tenant;
let assets: string[];
const MIN = 60_000;
/** A 10-minute window boundary. */
const W0 = Math.floor(T0 / (10 * MIN)) * 10 * MIN;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.tenant('o-comp');
  assets = await setupMeters(t, org, 'pkComp', 3);
  const e = await t.gql(org.token, Q.setComputed, { m: 'Meter', i: { point: 'kw', expression: 'voltage * current / 1000' } });
  expect(e.errors).toBeUndefined();
  expect(e.data?.['setComputedPoint']).toEqual({ point: 'kw', kind: 'EXPRESSION', expression: 'voltage * current / 1000', window: null, inputs: ['voltage', 'current'], modelVersion: 1 });
  const w = await t.gql(org.token, Q.setComputed, { m: 'Meter', i: { point: 'power_avg10m', window: { source: 'power', function: 'AVG', sizeS: 600 } } });
  expect(w.errors).toBeUndefined();
});
afterAll(() => t.close());

const kw = async (asset: string) => (await rows(t, 'point_data', asset, 'kw')).map((r) => [r.t - T0, r.num, r.quality]);

describe('computed points by expression', () => {
  it('computes the point from inputs sent together, stores it and moves its latest value', async () => {
    await post(t, org, [{ assetId: assets[0]!, time: T0, values: { voltage: 230, current: 10 } }]);
    expect(await kw(assets[0]!)).toEqual([[0, 2.3, null]]);
    expect((await rows(t, 'latest_values', assets[0]!, 'kw')).map((r) => r.num)).toEqual([2.3]);
  });

  it('waits for every input at that time, and computes when the late one arrives', async () => {
    await post(t, org, [{ assetId: assets[1]!, time: T0, values: { voltage: 200 } }]);
    expect(await kw(assets[1]!)).toEqual([]);
    await post(t, org, [{ assetId: assets[1]!, time: T0, values: { current: 5 } }], 'OFFLINE');
    expect(await kw(assets[1]!)).toEqual([[0, 1, null]]);
  });

  it('recomputes the value when an input is re-sent with a new value', async () => {
    await post(t, org, [{ assetId: assets[1]!, time: T0, values: { current: 6 } }]);
    expect(await kw(assets[1]!)).toEqual([[0, 1.2, null]]);
  });

  it('carries the worst quality of its inputs', async () => {
    await post(t, org, [{ assetId: assets[2]!, time: T0, values: { voltage: { value: 100, quality: 0 }, current: { value: 10, quality: 4 } } }]);
    expect(await kw(assets[2]!)).toEqual([[0, 1, 4]]);
  });
});

describe('computed points by window', () => {
  const avg = async (asset: string) => (await rows(t, 'point_data', asset, 'power_avg10m')).map((r) => [r.t - W0, r.num]);

  it('stores the window average at the window start and updates it as values arrive', async () => {
    await post(t, org, [
      { assetId: assets[0]!, time: W0 + MIN, values: { power: 10 } },
      { assetId: assets[0]!, time: W0 + 2 * MIN, values: { power: 20 } },
    ]);
    expect(await avg(assets[0]!)).toEqual([[0, 15]]);
    await post(t, org, [{ assetId: assets[0]!, time: W0 + 9 * MIN, values: { power: 60 } }]);
    expect(await avg(assets[0]!)).toEqual([[0, 30]]);
  });

  it('recomputes an earlier window when late data arrives inside it', async () => {
    await post(t, org, [{ assetId: assets[0]!, time: W0 + 12 * MIN, values: { power: 100 } }]);
    await post(t, org, [{ assetId: assets[0]!, time: W0 + 5 * MIN, values: { power: 30 } }], 'OFFLINE');
    expect(await avg(assets[0]!)).toEqual([
      [0, 30],
      [10 * MIN, 100],
    ]);
    await post(t, org, [{ assetId: assets[0]!, time: W0 + 3 * MIN, values: { power: 0 } }], 'OFFLINE');
    expect(await avg(assets[0]!)).toEqual([
      [0, 24],
      [10 * MIN, 100],
    ]);
  });
});

describe('computed points are validated when saved', () => {
  const bad: [string, unknown, string][] = [
    ['a syntax error', { point: 'kw', expression: 'voltage * ' }, 'syntax error'],
    ['an unknown identifier', { point: 'kw', expression: 'voltage * amps' }, 'amps is not a measurement point'],
    ['a non-numeric input', { point: 'kw', expression: 'voltage + label' }, 'label is STRING'],
    ['member access', { point: 'kw', expression: 'voltage.constructor' }, 'member access'],
    ['a call outside the whitelist', { point: 'kw', expression: 'eval(voltage)' }, 'unknown function eval'],
    ['a string literal', { point: 'kw', expression: "voltage + 'x'" }, 'numeric literals'],
    ['a point reading itself', { point: 'kw', expression: 'kw + 1' }, 'cannot read itself'],
    ['an input that is computed', { point: 'temp', expression: 'kw * 2' }, 'itself computed'],
    ['an expression that is too long', { point: 'kw', expression: `voltage${' + 1'.repeat(400)}` }, 'longer than'],
    ['a window on an unknown source', { point: 'power_avg10m', window: { source: 'nope', function: 'AVG', sizeS: 600 } }, 'nope is not a measurement point'],
    ['both an expression and a window', { point: 'kw', expression: 'voltage', window: { source: 'power', function: 'AVG', sizeS: 60 } }, 'exactly one'],
    ['a non-numeric computed point', { point: 'label', expression: 'voltage' }, 'must be numeric'],
  ];
  it.each(bad)('refuses %s with BAD_USER_INPUT naming the problem', async (_, input, message) => {
    const r = await t.gql(org.token, Q.setComputed, { m: 'Meter', i: input });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toContain(message);
  });

  it('lists computed points with the model policies and stops computing a deleted one', async () => {
    const list = await t.gql(org.token, Q.modelPolicies, { m: 'Meter' });
    expect(list.data?.['modelPolicies'].computed).toEqual([
      { point: 'kw', kind: 'EXPRESSION' },
      { point: 'power_avg10m', kind: 'WINDOW' },
    ]);
    expect((await t.gql(org.token, Q.deleteComputed, { m: 'Meter', p: 'kw' })).data?.['deleteComputedPoint']).toBe(true);
    await post(t, org, [{ assetId: assets[2]!, time: T0 + 1, values: { voltage: 1, current: 1 } }]);
    expect(await kw(assets[2]!)).toEqual([[0, 1, 4]]);
  });
});
