import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeJournal } from '../../src/policies/rollup-journal';
import { queryRows } from '../../src/storage/db';
import { startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { post, Q, rows, setupMeters, T0 } from './fixtures';

/*
 * With group commit, concurrent requests share one transaction: every batch is processed before
 * any is stored. Policies must still see earlier batches of the transaction: retries of the same
 * key are not counted twice by rollups, and computed points read inputs sent by a neighbour.
 */

let t: TestApp;
let org: Tenant;
let assets: string[];

beforeAll(async () => {
  // One transaction at a time, so that concurrent requests queue and are written together.
  t = await startTestApp({ INGEST_MAX_PARALLEL_TX: '1', POLICY_DEFAULT_STORAGE: 'RAW:7305,ROLLUP_1M:7305,ROLLUP_1H:7305' });
  org = await t.tenant('o-group');
  assets = await setupMeters(t, org, 'pkGroup', 2);
  expect((await t.gql(org.token, Q.setComputed, { m: 'Meter', i: { point: 'kw', expression: 'voltage * current / 1000' } })).errors).toBeUndefined();
});
afterAll(() => t.close());

describe('policies under group commit', () => {
  it('keeps rollups equal to the raw data when concurrent requests re-send the same keys', async () => {
    const send = (k: number) => post(t, org, [0, 1, 2, 3].map((i) => ({ assetId: assets[0]!, time: T0 + i * 1000, values: { power: k * 4 + i } })));
    // A first request takes the only transaction slot; the next ones queue and share one.
    const first = post(t, org, Array.from({ length: 200 }, (_, i) => ({ assetId: assets[1]!, time: T0 - 1_000_000 + i, values: { temp: i } })));
    await Promise.all([first, ...Array.from({ length: 12 }, (_, k) => send(k))]);
    const raw = await queryRows(t.db, sql`select count(*)::int as n, sum(num)::float8 as s, min(num)::float8 as lo, max(num)::float8 as hi from point_data pd join model_features f on f.id = pd.point_id where f.identifier = 'power'`);
    await mergeJournal(t.db);
    for (const table of ['rollup_1m', 'rollup_1h'] as const) {
      const r = await queryRows(t.db, sql`select sum(count)::int as n, sum(sum)::float8 as s, min(min)::float8 as lo, max(max)::float8 as hi from ${sql.identifier(table)} r join model_features f on f.id = r.point_id where f.identifier = 'power'`);
      expect(r).toEqual(raw);
    }
    expect((raw[0] as { n: number }).n).toBe(4);
  });

  it('computes a point from inputs sent by two requests written in one transaction', async () => {
    await Promise.all([
      post(t, org, [{ assetId: assets[1]!, time: T0, values: { power: 1 } }]),
      post(t, org, [{ assetId: assets[1]!, time: T0, values: { voltage: 100 } }]),
      post(t, org, [{ assetId: assets[1]!, time: T0, values: { current: 20 } }]),
    ]);
    expect((await rows(t, 'point_data', assets[1]!, 'kw')).map((r) => r.num)).toEqual([2]);
  });
});
