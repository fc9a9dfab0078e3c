import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../src/ingest/group-commit';
import { writeInFlight } from '../../src/ingest/pipeline';
import type { IngestBatch } from '../../src/ingest/types';
import { queryRows, type DbOrTx } from '../../src/storage/db';
import type { WriteTransaction } from '../../src/storage/pipelined-transaction';
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
    const writer = async (_tx: DbOrTx, bs: readonly IngestBatch[]) => {
      for (const b of bs) seen.push(b.points.length);
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
    } finally {
      t.app.deps.ingestPipeline.writers.pop();
      t.app.deps.ingestPipeline.committed.pop();
    }
  });

  it('writes batches queued behind a running transaction together in the next one', async () => {
    const [ids] = await queryRows<{ d: number; p: number; m: number }>(t.db, sql`select d.id as d, f.id as p, f.model_id as m from devices d join model_features f on f.kind = 'MEASUREPOINT' and f.identifier = 'i' where d.asset_id = ${assets[0]}`);
    const txs: DbOrTx[] = [];
    const pipeline = { processors: [], writers: [async (tx: DbOrTx, bs: readonly IngestBatch[]) => void bs.forEach(() => txs.push(tx))], committed: [] };
    const writer = createBatchWriter(t.app.deps.database.writeTransaction, pipeline, t.app.deps.log, { groupCommit: true, maxParallel: 1, maxValues: 10_000 });
    const batch = (k: number): IngestBatch => ({
      orgId: 'o-group',
      channel: 'REALTIME',
      points: [{ deviceId: ids!.d, assetId: assets[0]!, productKey: 'pkGroup', modelId: ids!.m, pointId: ids!.p, identifier: 'i', dataType: 'INT', time: T0 + 5000 + k, value: k, quality: null }],
      events: [],
      attributes: [],
      files: [],
    });
    await Promise.all(Array.from({ length: 10 }, (_, k) => writer.write(batch(k), new Set())));
    expect(await count(T0 + 5000, T0 + 5010)).toBe(10);
    // The first batch took the only slot; the nine that queued meanwhile shared one transaction.
    expect(txs).toHaveLength(10);
    expect(new Set(txs).size).toBe(2);
  });

  it('runs batches of other devices alongside, and queues a batch behind the running transaction of its device, keeping the order', async () => {
    const rows = await queryRows<{ d: number; a: string; p: number; m: number }>(t.db, sql`select d.id as d, d.asset_id as a, f.id as p, f.model_id as m from devices d join model_features f on f.kind = 'MEASUREPOINT' and f.identifier = 'i' where d.asset_id = any(${sql.param([assets[0]!, assets[1]!])}::text[]) order by d.asset_id = ${assets[0]} desc`);
    const [devA, devB] = rows;
    const seen: { tx: DbOrTx; device: number; value: unknown }[] = [];
    const pipeline = { processors: [], writers: [async (tx: DbOrTx, bs: readonly IngestBatch[]) => void bs.forEach((b) => seen.push({ tx, device: b.points[0]!.deviceId, value: b.points[0]!.value }))], committed: [] };
    const writer = createBatchWriter(t.app.deps.database.writeTransaction, pipeline, t.app.deps.log, { groupCommit: true, maxParallel: 2, maxValues: 10_000, overlapMinValues: 0 });
    const batch = (dev: typeof devA, k: number): IngestBatch => ({
      orgId: 'o-group',
      channel: 'REALTIME',
      points: [{ deviceId: dev!.d, assetId: dev!.a, productKey: 'pkGroup', modelId: dev!.m, pointId: dev!.p, identifier: 'i', dataType: 'INT', time: T0 + 7000 + k, value: k, quality: null }],
      events: [],
      attributes: [],
      files: [],
    });
    await Promise.all([writer.write(batch(devA, 0), new Set()), writer.write(batch(devA, 1), new Set()), writer.write(batch(devB, 0), new Set()), writer.write(batch(devA, 2), new Set())]);
    const txOf = (device: number, value: number) => seen.find((s) => s.device === device && s.value === value)!.tx;
    // A0 and B0 ran at once in two transactions; A1 and A2 waited for A0 and then shared one, in order.
    expect(txOf(devA!.d, 0)).not.toBe(txOf(devB!.d, 0));
    expect(txOf(devA!.d, 1)).toBe(txOf(devA!.d, 2));
    expect(txOf(devA!.d, 1)).not.toBe(txOf(devA!.d, 0));
    expect(seen.filter((s) => s.device === devA!.d).map((s) => s.value)).toEqual([0, 1, 2]);
    const [latest] = await queryRows<{ n: number }>(t.db, sql`select num::int as n from latest_values where device_id = ${devA!.d} and point_id = ${devA!.p}`);
    expect(latest?.n).toBe(2);
  });

  it('starts a transaction beside a running one only when that one carries enough values', async () => {
    const rows = await queryRows<{ d: number; a: string; p: number; m: number }>(t.db, sql`select d.id as d, d.asset_id as a, f.id as p, f.model_id as m from devices d join model_features f on f.kind = 'MEASUREPOINT' and f.identifier = 'i' where d.asset_id = any(${sql.param([assets[0]!, assets[1]!])}::text[]) order by d.asset_id = ${assets[0]} desc`);
    const batch = (dev: (typeof rows)[number], k: number): IngestBatch => ({
      orgId: 'o-group',
      channel: 'REALTIME',
      points: [{ deviceId: dev.d, assetId: dev.a, productKey: 'pkGroup', modelId: dev.m, pointId: dev.p, identifier: 'i', dataType: 'INT', time: T0 + 8000 + k, value: k, quality: null }],
      events: [],
      attributes: [],
      files: [],
    });
    /** The most transactions started at once (PGlite then runs them one after the other), for two one-value batches of different devices. */
    const overlap = async (overlapMinValues: number, k: number) => {
      let active = 0;
      let most = 0;
      const base = t.app.deps.database.writeTransaction;
      const counted: WriteTransaction = async (fn) => {
        most = Math.max(most, ++active);
        try {
          return await base(fn);
        } finally {
          active--;
        }
      };
      const slow = () => new Promise<void>((r) => setTimeout(r, 100));
      const writer = createBatchWriter(counted, { processors: [], writers: [slow], committed: [] }, t.app.deps.log, { groupCommit: true, maxParallel: 2, maxValues: 10_000, overlapMinValues });
      await Promise.all([writer.write(batch(rows[0]!, k), new Set()), writer.write(batch(rows[1]!, k), new Set())]);
      return most;
    };
    expect(await overlap(1, 0)).toBe(2);
    expect(await overlap(2, 1)).toBe(1);
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

  it('fails only the calls of a device changed behind the instance’s back when calls share a transaction', async () => {
    const mine = await setupDevices(t, org, 'pkGroupStale', 3);
    for (const [k, a] of mine.entries()) expect((await t.gql(org.token, POST_POINTS, { items: [{ assetId: a, time: T0 + 3000 + k, values: { i: k } }] })).errors).toBeUndefined();
    // As another instance would: this instance still remembers the device as enabled.
    await queryRows(t.db, sql`update devices set enabled = false where asset_id = ${mine[2]}`);
    const results = await Promise.all(Array.from({ length: 30 }, (_, k) => t.gql(org.token, POST_POINTS, { items: [{ assetId: mine[k % 3], time: T0 + 4000 + k, values: { i: k } }] })));
    results.forEach((r, k) => {
      if (k % 3 === 2) expect((r.errors?.[0]?.extensions?.['details'] as { errors?: { code: string }[] } | undefined)?.errors?.[0]?.code).toBe('DEVICE_DISABLED');
      else expect(r.errors).toBeUndefined();
    });
    expect(await count(T0 + 4000, T0 + 4030)).toBe(20);
  });

  for (const place of ['first', 'last'] as const) {
    it(`stores nothing of a call whose writer (${place}) left a failing statement in flight, and the others of its transaction`, async () => {
      // First: the statements of the writers after it, and the COMMIT, are sent before its answer. Last: it is the last statement before the COMMIT.
      const failing = async (tx: DbOrTx, bs: readonly IngestBatch[]) => {
        if (bs.some((b) => b.points.some((p) => p.value === 13))) writeInFlight(tx, queryRows(tx, sql`select 1 / 0`));
      };
      const writers = t.app.deps.ingestPipeline.writers;
      if (place === 'first') writers.unshift(failing);
      else writers.push(failing);
      const base = T0 + (place === 'first' ? 60_000 : 70_000);
      try {
        const results = await Promise.all(Array.from({ length: 30 }, (_, k) => t.gql(org.token, POST_POINTS, { items: [{ assetId: assets[k % 3], time: base + k, values: { i: k } }] })));
        results.forEach((r, k) => (k === 13 ? expect(errorCode(r)).toBe('INTERNAL_SERVER_ERROR') : expect(r.errors).toBeUndefined()));
        expect(await count(base, base + 30)).toBe(29);
      } finally {
        if (place === 'first') writers.shift();
        else writers.pop();
      }
    });
  }
});
