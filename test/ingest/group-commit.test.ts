import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestBatch } from '../../src/ingest/types';
import { queryRows, type DbOrTx } from '../../src/storage/db';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { POST_POINTS, setupDevices } from './fixtures';

let t: TestApp;
let org: Tenant;
let assets: string[];
const T0 = 1_700_000_000_000;

beforeAll(async () => {
  // One transaction at a time: concurrent calls must queue and share transactions.
  t = await startTestApp({ INGEST_MAX_PARALLEL_TX: '1' });
  org = await t.tenant('o-group');
  assets = await setupDevices(t, org, 'pkGroup', 3);
});
afterAll(() => t.close());

const count = async (from: number, to: number) =>
  (await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data where time >= ${new Date(from).toISOString()}::timestamptz and time < ${new Date(to).toISOString()}::timestamptz`))[0]?.n;

describe('group commit', () => {
  it('stores every one of many concurrent small calls, acknowledging each after its commit', async () => {
    let transactions = 0;
    const seen: number[] = [];
    const txs = new Set<DbOrTx>();
    const writer = async (tx: DbOrTx, b: IngestBatch) => {
      seen.push(b.points.length);
      txs.add(tx);
    };
    const committed = () => void transactions++;
    t.app.deps.ingestPipeline.writers.push(writer);
    t.app.deps.ingestPipeline.committed.push(committed);
    try {
      const calls = Array.from({ length: 40 }, (_, k) => t.gql(org.token, POST_POINTS, { items: [{ assetId: assets[k % 3], time: T0 + k, values: { i: k } }] }));
      const results = await Promise.all(calls);
      for (const r of results) expect(r.data?.['postMeasurePoints']?.accepted).toBe(1);
      expect(await count(T0, T0 + 40)).toBe(40);
      expect(seen).toHaveLength(40);
      expect(transactions).toBe(40);
      // Calls that queued behind the one running transaction shared the next one.
      expect(txs.size).toBeLessThan(40);
    } finally {
      t.app.deps.ingestPipeline.writers.pop();
      t.app.deps.ingestPipeline.committed.pop();
    }
  });

  it('fails only the call whose processor throws when calls share a transaction', async () => {
    const poison = async (_tx: DbOrTx, b: IngestBatch) => {
      if (b.points.some((p) => p.value === 13)) throw new Error('poison');
      return b;
    };
    t.app.deps.ingestPipeline.processors.push(poison);
    try {
      const results = await Promise.all(Array.from({ length: 30 }, (_, k) => t.gql(org.token, POST_POINTS, { items: [{ assetId: assets[k % 3], time: T0 + 1000 + k, values: { i: k } }] })));
      results.forEach((r, k) => (k === 13 ? expect(errorCode(r)).toBe('INTERNAL_SERVER_ERROR') : expect(r.errors).toBeUndefined()));
      expect(await count(T0 + 1000, T0 + 1030)).toBe(29);
    } finally {
      t.app.deps.ingestPipeline.processors.pop();
    }
  });
});
