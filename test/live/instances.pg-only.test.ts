import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveOf } from '../../src/live/service';
import { openDatabase, queryRows, type Database } from '../../src/storage/db';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { batchOf, connectRaw, CONSUME, createFleet, liveQuery, point, waitFor, type Fleet, type RawClient } from './live-fixtures';

let t1: TestApp;
let t2: TestApp;
let db2: Database;
let fleet: Fleet;
let token: string;
const clients: RawClient[] = [];
const T0 = 1_767_225_600_000;

async function client(t: TestApp): Promise<RawClient> {
  const c = await connectRaw(t.url, token);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  t1 = await startTestApp();
  // NOTE: a second instance with its own connection pool and LISTEN connection on the same database.
  db2 = await openDatabase({ url: t1.tdb.url, dataDir: '', poolMax: 5 });
  t2 = await startTestApp({}, { tdb: { ...t1.tdb, database: db2, drop: async () => {} } });
  token = (await t1.tenant('o-multi')).token;
  fleet = await createFleet(t1.db, 'o-multi', 'mi', 1, 4);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t2.close();
  await db2.close();
  await t1.close();
});

describe('across instances and concurrent writers', () => {
  it('delivers data ingested on one instance to a subscriber on another', async () => {
    const c = await client(t2);
    const s = c.subscribe('1', liveQuery('measurePointsLive'));
    await waitFor(() => liveOf(t2.app.deps).hub.stats().subscribers === 1, 'subscriber on instance 2');
    const deps = t1.app.deps;
    const batch = batchOf(fleet, { points: [point(fleet, fleet.devices[0]!, 'temp', T0, 42)] });
    await deps.db.transaction(async (tx) => {
      for (const w of deps.ingestPipeline.writers) await w(tx, [batch]);
    });
    const acked = performance.now();
    for (const h of deps.ingestPipeline.committed) h(batch);
    await waitFor(() => s.batches.length === 1, 'the batch on instance 2', 5_000);
    expect(performance.now() - acked).toBeLessThan(900); // NOTE: NOTIFY, not the 1 s fallback poll
    expect(s.batches[0]!.points[0]!.value).toBe(42);
    c.close();
  });

  it('announces an append to every instance with its offset when its transaction commits, not before', async () => {
    const heard: string[] = [];
    const client2 = db2.client;
    if (client2.kind !== 'postgres') throw new Error('PostgreSQL only');
    const listening = await client2.sql.listen('tributary_live', (payload) => heard.push(payload));
    try {
      const deps = t1.app.deps;
      const batch = batchOf(fleet, { points: [point(fleet, fleet.devices[1]!, 'temp', T0 + 1, 7)] });
      await deps.db.transaction(async (tx) => {
        for (const w of deps.ingestPipeline.writers) await w(tx, [batch]);
        await new Promise((r) => setTimeout(r, 300));
        expect(heard).toEqual([]);
      });
      const [head] = await queryRows<{ o: string }>(t1.db, sql`select max(log_offset)::text as o from live_messages`);
      await waitFor(() => heard.length > 0, 'the notification', 5_000);
      expect(heard).toEqual([head!.o]);
    } finally {
      await listening.unlisten();
    }
  });

  it('keeps offsets in commit order under concurrent writers, so a live reader skips nothing', async () => {
    const c = await client(t2);
    const s = c.subscribe('2', liveQuery('measurePointsLive'));
    await waitFor(() => liveOf(t2.app.deps).hub.stats().subscribers === 1, 'subscriber');
    const deps = t1.app.deps;
    const N = 40;
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const batch = batchOf(fleet, { points: [point(fleet, fleet.devices[i % 4]!, 'temp', T0 + i, i)] });
        await deps.db.transaction(async (tx) => {
          for (const w of deps.ingestPipeline.writers) await w(tx, [batch]);
          // NOTE: work after the append keeps the transaction open; without the append lock a later
          // offset could commit first and a reader past it would never see this one.
          await queryRows(tx, sql`select pg_sleep(${(i % 5) * 0.01})`);
        });
        for (const h of deps.ingestPipeline.committed) h(batch);
      }),
    );
    await waitFor(() => s.batches.length === N, `${N} batches`, 10_000);
    const offsets = s.batches.map((b) => Number(b.offset));
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(s.batches.map((b) => b.points[0]!.value))).toEqual(new Set(Array.from({ length: N }, (_, i) => i)));
    c.close();
  });

  it('shares a consumer group between consumers on two instances', async () => {
    const admin = await t1.tenant('o-multi');
    const r = await t1.gql(admin.token, 'mutation ($input: SubscriptionJobInput!) { createSubscriptionJob(input: $input) { id } }', { input: { name: 'multi', kind: 'MEASURE_POINTS', partitions: 4 } });
    const jobId = (r.data!['createSubscriptionJob'] as { id: string }).id;
    const a = await client(t1);
    const b = await client(t2);
    const sa = a.subscribe('a', CONSUME, { jobId, group: 'g' });
    const sb = b.subscribe('b', CONSUME, { jobId, group: 'g' });
    await waitFor(() => liveOf(t1.app.deps).hub.stats().subscribers === 1 && liveOf(t2.app.deps).hub.stats().subscribers === 1, 'both consumers');
    await new Promise((res) => setTimeout(res, 2_500));
    const deps = t2.app.deps;
    const batch = batchOf(fleet, { points: fleet.devices.map((d, i) => point(fleet, d, 'temp', T0 + 500 + i, 500 + i)) });
    await deps.db.transaction(async (tx) => {
      for (const w of deps.ingestPipeline.writers) await w(tx, [batch]);
    });
    for (const h of deps.ingestPipeline.committed) h(batch);
    const vals = () => [...sa.batches, ...sb.batches].flatMap((x) => x.points.map((p) => p.value as number));
    await waitFor(() => vals().length === 4, 'four records across the group');
    expect(vals().sort((x, y) => x - y)).toEqual([500, 501, 502, 503]);
    expect(sa.batches.length).toBe(1);
    expect(sb.batches.length).toBe(1);
  });
});
