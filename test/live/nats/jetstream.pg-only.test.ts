import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsBackend } from '../../../src/live/nats/backend';
import { createOutboxRelay } from '../../../src/live/nats/outbox';
import { WIRE_SCHEMA } from '../../../src/live/nats/wire';
import { liveOf } from '../../../src/live/service';
import { openDatabase, queryRows, type Database } from '../../../src/storage/db';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { POST_POINTS } from '../../ingest/fixtures';
import { batchOf, connectRaw, CONSUME, createFleet, ingestBatch, liveQuery, point, waitFor, type Fleet, type RawClient } from '../live-fixtures';
import { deleteStream, natsEnv, requireSharedNats, SHARED_NATS_URL } from './nats-fixtures';

let t1: TestApp;
let t2: TestApp;
let db2: Database;
let fleet: Fleet;
let token: string;
const env = natsEnv();
const clients: RawClient[] = [];
const T0 = 1_767_225_600_000;

async function client(t: TestApp): Promise<RawClient> {
  const c = await connectRaw(t.url, token);
  clients.push(c);
  return c;
}
const subscribers = (t: TestApp) => liveOf(t.app.deps).hub.stats().subscribers;

beforeAll(async () => {
  await requireSharedNats();
  t1 = await startTestApp(env);
  // NOTE: a second instance with its own connection pool and NATS connection on the same database and stream.
  db2 = await openDatabase({ url: t1.tdb.url, dataDir: '', poolMax: 5 });
  t2 = await startTestApp(env, { tdb: { ...t1.tdb, database: db2, drop: async () => {} } });
  await liveOf(t1.app.deps).hub.ready();
  await liveOf(t2.app.deps).hub.ready();
  token = (await t1.tenant('o-nats')).token;
  fleet = await createFleet(t1.db, 'o-nats', 'na', 2, 2);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t2?.close();
  await db2?.close();
  await t1?.close();
  await deleteStream(SHARED_NATS_URL, env.NATS_STREAM!);
});

describe('the live stream on NATS JetStream', () => {
  it('reports the stream backend in /readyz', async () => {
    const body = (await (await fetch(`${t1.url}/readyz`)).json()) as { stream: unknown };
    expect(body.stream).toEqual({ backend: 'nats', available: true });
  });

  it('exports the relay backlog and its lag as metrics', async () => {
    const text = await (await fetch(`${t1.url}/metrics`)).text();
    expect(text).toMatch(/^tributary_live_relay_pending_messages \d+$/m);
    expect(text).toMatch(/^tributary_live_relay_lag_seconds [\d.e+-]+$/m);
    expect(text).toMatch(/^tributary_live_relay_published_total \d+$/m);
    expect(text).toMatch(/^tributary_live_relay_failures_total \d+$/m);
  });

  it('delivers what either instance ingests to subscribers on both, without the database log', async () => {
    const a = await client(t1);
    const b = await client(t2);
    const sa = a.subscribe('a', liveQuery('measurePointsLive'));
    const sb = b.subscribe('b', liveQuery('measurePointsLive'));
    await waitFor(() => subscribers(t1) === 1 && subscribers(t2) === 1, 'a subscriber on each instance');
    const [d0, d1] = fleet.devices;
    // NOTE: one request of two devices: two stream messages, one GraphQL message (as on the database log).
    expect((await t1.gql(token, POST_POINTS, { items: [{ assetId: d0!.assetId, time: T0, values: { temp: 1 } }, { assetId: d1!.assetId, time: T0, values: { temp: 2 } }] })).errors).toBeUndefined();
    expect((await t2.gql(token, POST_POINTS, { items: [{ assetId: d1!.assetId, time: T0 + 1, values: { temp: 3 } }] })).errors).toBeUndefined();
    const values = (s: typeof sa) => s.batches.flatMap((x) => x.points.map((p) => p.value)).sort();
    await waitFor(() => values(sa).length === 3 && values(sb).length === 3, 'all values on both instances');
    expect(values(sa)).toEqual([1, 2, 3]);
    expect(values(sb)).toEqual([1, 2, 3]);
    expect(sa.batches.map((x) => x.points.length)).toEqual([2, 1]);
    expect(sa.batches.map((x) => x.offset)).toEqual(sb.batches.map((x) => x.offset));
    const [logged] = await queryRows<{ n: number }>(t1.db, sql`select count(*)::int as n from live_messages`);
    expect(Number(logged?.n)).toBe(0);
    a.close();
    b.close();
  });

  it('gives the instance that published a message the same message as the one that read it from the stream', async () => {
    const a = await client(t1);
    const b = await client(t2);
    const sa = a.subscribe('own-a', liveQuery('measurePointsLive'));
    const sb = b.subscribe('own-b', liveQuery('measurePointsLive'));
    await waitFor(() => subscribers(t1) === 1 && subscribers(t2) === 1, 'a subscriber on each instance');
    const [d0, d1, d2] = fleet.devices;
    expect((await t1.gql(token, POST_POINTS, { items: [{ assetId: d0!.assetId, time: T0 + 40, values: { temp: -0.5, state: 'ünïcode "q"' } }, { assetId: d1!.assetId, time: T0 + 40, values: { temp: 1e21 } }] })).errors).toBeUndefined();
    expect((await t2.gql(token, POST_POINTS, { items: [{ assetId: d2!.assetId, time: T0 + 41, values: { temp: 2.25, state: '' } }] })).errors).toBeUndefined();
    await waitFor(() => sa.batches.length === 2 && sb.batches.length === 2, 'both messages on both instances');
    // NOTE: each instance took its own message from memory and decoded the other's from the stream.
    expect(sa.batches).toEqual(sb.batches);
    expect(sa.batches.map((x) => x.points.length)).toEqual([3, 2]);
    await waitFor(() => (liveOf(t1.app.deps).backend as NatsBackend).own.size === 0 && (liveOf(t2.app.deps).backend as NatsBackend).own.size === 0, 'published messages read back');
    a.close();
    b.close();
  });

  it('resumes exactly after a disconnect from the last offset received', async () => {
    const c = await client(t2);
    const s = c.subscribe('r', liveQuery('measurePointsLive'));
    await waitFor(() => subscribers(t2) === 1, 'subscriber');
    const d = fleet.devices[2]!;
    await ingestBatch(t1.app.deps, batchOf(fleet, { points: [point(fleet, d, 'temp', T0 + 10, 10)] }));
    await waitFor(() => s.batches.length === 1, 'the first message');
    const last = s.batches[0]!.offset;
    c.close();
    await waitFor(() => subscribers(t2) === 0, 'disconnected');
    for (let i = 11; i <= 13; i++) await ingestBatch(t1.app.deps, batchOf(fleet, { points: [point(fleet, d, 'temp', T0 + i, i)] }));
    const c2 = await client(t1);
    const s2 = c2.subscribe('r2', liveQuery('measurePointsLive'), { fromOffset: last });
    await ingestBatch(t2.app.deps, batchOf(fleet, { points: [point(fleet, d, 'temp', T0 + 14, 14)] }));
    await waitFor(() => s2.batches.length === 4, 'the three missed messages and the next one');
    expect(s2.batches.map((x) => x.points[0]!.value)).toEqual([11, 12, 13, 14]);
    const offsets = s2.batches.map((x) => Number(x.offset));
    expect(offsets[0]).toBeGreaterThan(Number(last));
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    c2.close();
  });

  it('refuses a resume offset ahead of the stream', async () => {
    const c = await client(t1);
    const s = c.subscribe('ahead', liveQuery('measurePointsLive'), { fromOffset: '999999999' });
    await waitFor(() => s.errors.length === 1, 'the error');
    expect(s.errors[0]!.extensions?.code).toBe('BAD_USER_INPUT');
    c.close();
  });

  it('shares a consumer group between members on two instances', async () => {
    const r = await t1.gql(token, 'mutation ($input: SubscriptionJobInput!) { createSubscriptionJob(input: $input) { id } }', { input: { name: 'nats-group', kind: 'MEASURE_POINTS', partitions: 4 } });
    const jobId = (r.data!['createSubscriptionJob'] as { id: string }).id;
    const a = await client(t1);
    const b = await client(t2);
    const sa = a.subscribe('ga', CONSUME, { jobId, group: 'g' });
    const sb = b.subscribe('gb', CONSUME, { jobId, group: 'g' });
    await waitFor(() => subscribers(t1) === 1 && subscribers(t2) === 1, 'both members');
    // NOTE: members see each other at their next heartbeat (1 s) and split the partitions.
    await new Promise((res) => setTimeout(res, 2_500));
    await ingestBatch(t2.app.deps, batchOf(fleet, { points: fleet.devices.map((d, i) => point(fleet, d, 'temp', T0 + 500 + i, 500 + i)) }));
    const vals = () => [...sa.batches, ...sb.batches].flatMap((x) => x.points.map((p) => p.value as number));
    await waitFor(() => vals().length === 4, 'four records across the group');
    expect(vals().sort((x, y) => x - y)).toEqual([500, 501, 502, 503]);
    expect(sa.batches.length).toBe(1);
    expect(sb.batches.length).toBe(1);
    const partsA = new Set(sa.batches.flatMap((x) => x.partitions ?? []));
    const partsB = new Set(sb.batches.flatMap((x) => x.partitions ?? []));
    expect([...partsA].filter((p) => partsB.has(p))).toEqual([]);
    a.close();
    b.close();
  });

  it('gives a plain NATS client the documented subjects and messages, equal to what a subscriber gets', async () => {
    const c = await client(t1);
    const s = c.subscribe('plain', liveQuery('measurePointsLive'));
    await waitFor(() => subscribers(t1) === 1, 'subscriber');
    const nc: NatsConnection = await connect({ servers: SHARED_NATS_URL });
    try {
      const js = jetstream(nc);
      const d = fleet.devices[3]!;
      const before = liveOf(t1.app.deps).hub.cursor;
      const consumer = await js.consumers.get(env.NATS_STREAM!, { filter_subjects: `${env.NATS_SUBJECT_PREFIX}.o-nats.REALTIME.${d.productKey}.*`, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: before + 1 });
      expect((await t1.gql(token, POST_POINTS, { items: [{ assetId: d.assetId, time: T0 + 900, values: { temp: 9.5, state: 'ok' } }] })).errors).toBeUndefined();
      const m = (await consumer.next({ expires: 10_000 })) as JsMsg;
      expect(m).not.toBeNull();
      await waitFor(() => s.batches.length === 1, 'the GraphQL message');
      const gql = s.batches[0]!;
      expect(m.subject).toBe(`${env.NATS_SUBJECT_PREFIX}.o-nats.REALTIME.${d.productKey}.${d.deviceKey}`);
      expect(String(m.seq)).toBe(gql.offset);
      const body = m.json<Record<string, unknown>>();
      expect(body).toEqual({ schema: WIRE_SCHEMA, orgId: 'o-nats', channel: 'REALTIME', points: gql.points, attributes: [], events: [], files: [] });
      expect(gql.points.map((p) => [p.identifier, p.value])).toEqual([
        ['temp', 9.5],
        ['state', 'ok'],
      ]);
    } finally {
      await nc.close();
      c.close();
    }
  });

  it('moves a group by time, to the earliest message kept, and to an offset, in stream sequences', async () => {
    const r = await t1.gql(token, 'mutation ($input: SubscriptionJobInput!) { createSubscriptionJob(input: $input) { id } }', { input: { name: 'nats-reset', kind: 'MEASURE_POINTS', partitions: 1 } });
    const jobId = (r.data!['createSubscriptionJob'] as { id: string }).id;
    const RESET = 'mutation ($jobId: ID!, $to: JobOffsetResetInput) { resetJobOffsets(jobId: $jobId, group: "rg", to: $to) { partition offset } }';
    const reset = async (to: Record<string, unknown>) => {
      const res = await t2.gql(token, RESET, { jobId, to });
      expect(res.errors).toBeUndefined();
      return Number((res.data!['resetJobOffsets'] as { offset: string }[])[0]!.offset);
    };
    const d = fleet.devices[0]!;
    const marker = Date.now();
    await new Promise((res) => setTimeout(res, 20));
    await ingestBatch(t1.app.deps, batchOf(fleet, { points: [point(fleet, d, 'temp', T0 + 600, 600)] }));
    await ingestBatch(t1.app.deps, batchOf(fleet, { points: [point(fleet, d, 'temp', T0 + 601, 601)] }));
    await (liveOf(t1.app.deps).backend as NatsBackend).relay.drain();
    const head = await liveOf(t1.app.deps).log.head();
    expect(await reset({ time: marker })).toBe(head - 2);
    expect(await reset({ earliest: true })).toBe(0);
    expect(await reset({ latest: true })).toBe(head);
    expect(await reset({ offset: String(head - 1) })).toBe(head - 1);
    const c = await client(t2);
    const s = c.subscribe('rg', CONSUME, { jobId, group: 'rg' });
    await waitFor(() => s.batches.length === 1, 'the message after the offset');
    expect(s.batches[0]!.points[0]!.value).toBe(601);
    expect(s.batches[0]!.offset).toBe(String(head));
    c.close();
  });

  it('refuses a resume from before what the stream still keeps with OFFSET_OUT_OF_RANGE', async () => {
    const nc = await connect({ servers: SHARED_NATS_URL });
    try {
      // NOTE: a purge removes what retention would remove after REPLAY_WINDOW_S.
      await (await jetstreamManager(nc)).streams.purge(env.NATS_STREAM!);
    } finally {
      await nc.close();
    }
    const c = await client(t1);
    const s = c.subscribe('old', liveQuery('measurePointsLive'), { fromOffset: '1' });
    await waitFor(() => s.errors.length === 1, 'the error');
    expect(s.errors[0]!.extensions?.code).toBe('OFFSET_OUT_OF_RANGE');
    const head = await liveOf(t1.app.deps).log.head();
    const ok = c.subscribe('head', liveQuery('measurePointsLive'), { fromOffset: String(head) });
    await ingestBatch(t1.app.deps, batchOf(fleet, { points: [point(fleet, fleet.devices[0]!, 'temp', T0 + 990, 990)] }));
    await waitFor(() => ok.batches.length === 1, 'the next message');
    c.close();
  });

  it('publishes a committed batch at once from the instance that committed it, and empties the outbox', async () => {
    const c = await client(t1);
    const s = c.subscribe('eager', liveQuery('measurePointsLive'));
    await waitFor(() => subscribers(t1) === 1, 'subscriber');
    const outbox = async () => Number((await queryRows<{ n: number }>(t1.db, sql`select count(*)::int as n from live_outbox`))[0]!.n);
    const relay2 = (liveOf(t2.app.deps).backend as NatsBackend).relay;
    const before = (await relay2.stats()).published;
    const started = Date.now();
    await ingestBatch(t2.app.deps, batchOf(fleet, { points: [point(fleet, fleet.devices[0]!, 'temp', T0 + 650, 650)] }));
    await waitFor(() => s.batches.length === 1, 'the message');
    while ((await outbox()) > 0) await new Promise((r) => setTimeout(r, 20));
    // NOTE: rows left behind are relayed only once they are 5 s old (by any instance); this one went before.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await relay2.stats()).published).toBe(before + 1);
    expect(s.batches[0]!.points[0]!.value).toBe(650);
    c.close();
  });

  it('relays a row that an instance committed and never published, on any other instance', async () => {
    const c = await client(t2);
    const s = c.subscribe('left', liveQuery('measurePointsLive'));
    await waitFor(() => subscribers(t2) === 1, 'subscriber');
    const deps = t1.app.deps;
    // NOTE: committed without the committed hook: as if the instance died between commit and publish.
    await deps.db.transaction(async (tx) => {
      for (const w of deps.ingestPipeline.writers) await w(tx, [batchOf(fleet, { points: [point(fleet, fleet.devices[1]!, 'temp', T0 + 660, 660)] })]);
    });
    await waitFor(() => s.batches.length === 1, 'the message relayed by the periodic run', 15_000);
    expect(s.batches[0]!.points[0]!.value).toBe(660);
    c.close();
  });

  it('relays the outbox with message ids, so a relay that fails after publishing stores nothing twice', async () => {
    const deps = t1.app.deps;
    // NOTE: the instances' own relays stop, so that only the relays of this test move the outbox.
    await (liveOf(t1.app.deps).backend as NatsBackend).relay.close();
    await (liveOf(t2.app.deps).backend as NatsBackend).relay.close();
    const c = await client(t2);
    const s = c.subscribe('dedup', liveQuery('measurePointsLive'));
    await waitFor(() => subscribers(t2) === 1, 'subscriber');
    const head = await liveOf(t1.app.deps).log.head();
    // NOTE: committed to the outbox without the committed hook, so that only the relay below moves it.
    await deps.db.transaction(async (tx) => {
      for (const w of deps.ingestPipeline.writers) await w(tx, [batchOf(fleet, { points: fleet.devices.map((d, i) => point(fleet, d, 'temp', T0 + 700 + i, 700 + i)) })]);
    });
    const nc = await connect({ servers: SHARED_NATS_URL });
    const js = jetstream(nc);
    let failed = 0;
    const relay = (afterPublish?: () => Promise<void>) => createOutboxRelay({ db: deps.db, log: deps.log, prefix: env.NATS_SUBJECT_PREFIX!, jetstream: () => js, ...(afterPublish ? { afterPublish } : {}) });
    const failing = relay(async () => {
      failed++;
      throw new Error('stopped between publish and delete');
    });
    failing.wake();
    await waitFor(() => s.batches.flatMap((x) => x.points).length === 4, 'the four device messages of the failed relay');
    await failing.close();
    expect(failed).toBe(1);
    const healthy = relay();
    expect((await healthy.stats()).pending).toBe(1);
    await healthy.drain();
    expect((await healthy.stats()).pending).toBe(0);
    expect((await healthy.stats()).published).toBe(0);
    await healthy.close();
    await nc.close();
    await new Promise((res) => setTimeout(res, 500));
    expect(await liveOf(t1.app.deps).log.head()).toBe(head + 4);
    expect(s.batches.flatMap((x) => x.points.map((p) => p.value)).sort()).toEqual([700, 701, 702, 703]);
    c.close();
  });
});
