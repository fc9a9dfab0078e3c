import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeJournal, mergeJournalBatches } from '../../src/policies/rollup-journal';
import { queryRows } from '../../src/storage/db';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { post, setupMeters } from './fixtures';

/*
 * Rollups of the largest doubles: merging their deltas never fails (a failed merge would hold
 * every later delta of the level), and the aggregate query answers as it does from raw data.
 */

const MIN = 60_000;
/** 2026-01-10T00:00:00Z. */
const D0 = Date.UTC(2026, 0, 10);
const BIG = 1e308;
const MAX = Number.MAX_VALUE;
/** Powers of two: their partial sums are exact whatever the order the merges add them in. */
const A = 2 ** 1023;
const S = 2 ** 1000;

let t: TestApp;
let org: Tenant;
let asset: string;

/** Values per one-minute bucket, each posted in two batches so that merges add to stored rows. */
const BUCKETS: number[][] = [
  [BIG, BIG],
  [-BIG, -BIG],
  [A, -A, S],
  [MAX, -MAX],
  [MAX, MAX],
];

const AGG = `query($devices: DeviceSelector!, $aggregates: [AggregateInput!]!, $from: Timestamp!, $to: Timestamp!, $interval: String!) {
  pointAggregates(devices: $devices, aggregates: $aggregates, from: $from, to: $to, interval: $interval) { times columns { function values } } }`;

function aggregate(functions: readonly string[], fromBucket: number, toBucket: number) {
  return t.gql(org.token, AGG, { devices: { assetIds: [asset] }, aggregates: functions.map((f) => ({ point: 'power', function: f })), from: D0 + fromBucket * MIN, to: D0 + toBucket * MIN, interval: '1 minute' });
}

const columns = (r: { data: any }) => Object.fromEntries(r.data.pointAggregates[0].columns.map((c: { function: string; values: unknown[] }) => [c.function, c.values]));

beforeAll(async () => {
  t = await startTestApp({ POLICY_DEFAULT_STORAGE: 'RAW:7305,ROLLUP_1M:7305', ROLLUP_APPLY_INTERVAL_MS: '3600000' });
  org = await t.tenant('o-roll-big');
  [asset] = (await setupMeters(t, org, 'pkRollBig', 1)) as [string];
  for (const half of [0, 1]) {
    const items = BUCKETS.flatMap((values, b) => values.map((v, i) => ({ i, v, b }))).filter((x) => x.i % 2 === half);
    await post(t, org, items.map((x) => ({ assetId: asset, time: D0 + x.b * MIN + x.i * 1000, values: { power: x.v } })));
    // Merge between the batches: the second merge adds to the rows the first one stored.
    await mergeJournal(t.db);
  }
});
afterAll(() => t.close());

describe('rollups of the largest doubles', () => {
  it('merges every delta, storing a sum beyond a double as +-Infinity', async () => {
    expect(await mergeJournalBatches(t.db)).toBe(0);
    const rows = await queryRows<{ count: number; sum: number; min: number; max: number }>(t.db, sql`select count, sum, min, max from rollup_1m order by bucket`);
    expect(rows.map((r) => [r.count, Number(r.sum), Number(r.min), Number(r.max)])).toEqual([
      [2, Infinity, BIG, BIG],
      [2, -Infinity, -BIG, -BIG],
      [3, S, -A, A],
      [2, 0, -MAX, MAX],
      [2, Infinity, MAX, MAX],
    ]);
    const [pending] = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from rollup_pending`);
    expect(pending!.n).toBe(0);
  });

  it('answers every function as from raw data', async () => {
    const r = await aggregate(['AVG', 'MIN', 'MAX', 'COUNT', 'FIRST', 'LAST'], 0, 5);
    expect(r.errors).toBeUndefined();
    expect(columns(r)).toEqual({
      AVG: [BIG, -BIG, S / 3, 0, MAX],
      MIN: [BIG, -BIG, -A, -MAX, MAX],
      MAX: [BIG, -BIG, A, MAX, MAX],
      COUNT: [2, 2, 3, 2, 2],
      FIRST: [BIG, -BIG, A, MAX, MAX],
      LAST: [BIG, -BIG, S, -MAX, MAX],
    });
    const sums = await aggregate(['AVG', 'SUM'], 2, 4);
    expect(sums.errors).toBeUndefined();
    expect(columns(sums)).toEqual({ AVG: [S / 3, 0], SUM: [S, 0] });
    const tooBig = await aggregate(['SUM'], 0, 5);
    expect(errorCode(tooBig)).toBe('BAD_USER_INPUT');
  });
});
