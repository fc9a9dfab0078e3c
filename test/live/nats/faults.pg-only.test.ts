import { spawn, type ChildProcess } from 'node:child_process';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_OUTAGE_REASON } from '../../../src/live/nats/backend';
import { liveOf } from '../../../src/live/service';
import { queryRows } from '../../../src/storage/db';
import { POST_POINTS } from '../../ingest/fixtures';
import { CLI, childEnv } from '../../helpers/run-cli';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from '../../helpers/test-app';
import { batchOf, connectRaw, createFleet, ingestBatch, liveQuery, point, waitFor, type Fleet, type RawClient, type RawSub } from '../live-fixtures';
import { freePort, natsEnv, startOwnNats, type OwnNats } from './nats-fixtures';

let nats: OwnNats;
let t: TestApp;
let fleet: Fleet;
let token: string;
let env: Record<string, string>;
const clients: RawClient[] = [];
const T0 = 1_767_225_600_000;
const outboxRows = async () => Number((await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from live_outbox`))[0]?.n);
/** Polls until the outbox is empty (the relay deletes its rows after JetStream acknowledged them). */
async function outboxDrained(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await outboxRows()) > 0) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the outbox to drain');
    await new Promise((r) => setTimeout(r, 100));
  }
}
const values = (c: RawSub) => c.batches.flatMap((b) => b.points.map((p) => p.value as number));

async function client(): Promise<RawClient> {
  const c = await connectRaw(t.url, token);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  nats = await startOwnNats();
  env = natsEnv(nats.url);
  t = await startTestApp(env);
  await liveOf(t.app.deps).hub.ready();
  token = (await t.tenant('o-fault')).token;
  fleet = await createFleet(t.db, 'o-fault', 'nf', 1, 2);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
  await nats?.dispose();
});

describe('the NATS backend under faults', () => {
  it('loses nothing when NATS restarts during ingest: subscribers are told, ingest goes on, the outbox drains', async () => {
    const live = liveOf(t.app.deps);
    const d = fleet.devices[0]!;
    const c = await client();
    const s = c.subscribe('s', liveQuery('measurePointsLive'));
    await waitFor(() => live.hub.stats().subscribers === 1, 'subscriber');
    const head = await live.log.head();
    const N = 60;
    let restarted = false;
    for (let i = 0; i < N; i++) {
      if (i === 20) await nats.stop(true);
      if (i === 20) {
        await waitFor(() => !live.backend.status().available, 'the outage noticed');
        const closed = await c.closed;
        expect(closed).toEqual({ code: 4008, reason: NATS_OUTAGE_REASON });
        const refused = (await client()).subscribe('refused', liveQuery('measurePointsLive'));
        await waitFor(() => refused.errors.length === 1, 'the refusal');
        expect(refused.errors[0]!.extensions?.code).toBe('SERVICE_UNAVAILABLE');
        const ready = (await (await fetch(`${t.url}/readyz`)).json()) as { status: string; stream: unknown };
        expect(ready).toMatchObject({ status: 'ready', stream: { backend: 'nats', available: false } });
      }
      if (i === 40) {
        expect(await outboxRows()).toBeGreaterThan(0);
        await nats.start();
        restarted = true;
      }
      await ingestBatch(t.app.deps, batchOf(fleet, { points: [point(fleet, d, 'temp', T0 + i, i)] }));
    }
    expect(restarted).toBe(true);
    await waitFor(() => live.backend.status().available, 'NATS back', 20_000);
    await waitFor(() => s.batches.length > 0, 'something before the outage');
    const resumed = (await client()).subscribe('resumed', liveQuery('measurePointsLive'), { fromOffset: s.batches[s.batches.length - 1]!.offset });
    await waitFor(() => values(s).length + values(resumed).length === N, `all ${N} values`, 30_000).catch(async (e: unknown) => {
      console.log(JSON.stringify({ s: values(s), r: values(resumed), errors: resumed.errors, head, now: live.hub.stats(), outbox: await outboxRows(), streamHead: await live.log.head() }));
      throw e;
    });
    expect([...values(s), ...values(resumed)]).toEqual(Array.from({ length: N }, (_, i) => i));
    await outboxDrained();
    expect(await live.log.head()).toBe(head + N);
  });

  it('loses nothing when an instance is killed (kill -9) after ingest committed and before it published', async () => {
    const live = liveOf(t.app.deps);
    const d = fleet.devices[1]!;
    const head = await live.log.head();
    await nats.stop();
    await waitFor(() => !live.backend.status().available, 'the outage noticed');
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, [CLI, 'serve'], {
      env: childEnv({ ...env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: t.tdb.url!, SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY, SCHEDULER_ENABLED: 'false', DATA_DIR: t.dataDir }),
      stdio: 'ignore',
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error('the child instance did not start');
        await new Promise((r) => setTimeout(r, 200));
      }
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: POST_POINTS, variables: { items: [{ assetId: d.assetId, time: T0 + 100 + i, values: { temp: 100 + i } }] } }) });
        expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
      }
      expect(await outboxRows()).toBe(5);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await nats.start();
    await waitFor(() => live.backend.status().available, 'NATS back', 20_000);
    const c = await client();
    const s = c.subscribe('after', liveQuery('measurePointsLive'), { fromOffset: String(head) });
    await waitFor(() => values(s).length === 5, 'the five values the killed instance committed', 30_000);
    expect(values(s)).toEqual([100, 101, 102, 103, 104]);
    await outboxDrained();
    expect(await live.log.head()).toBe(head + 5);
  });

  it('keeps an outbox row as the JSON text it is published from, neither parsed nor compressed', async () => {
    const [col] = await queryRows<{ type: string; storage: string }>(
      t.db,
      sql`select atttypid::regtype::text as type, attstorage as storage from pg_attribute where attrelid = 'live_outbox'::regclass and attname = 'payload'`,
    );
    expect(col).toEqual({ type: 'text', storage: 'e' });
  });
});
