import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getHeadOffset, pruneLog, readLogWatched } from '../../src/live/log';
import { CLOSE_SLOW_CONSUMER, liveOf } from '../../src/live/service';
import { Access } from '../../src/auth/permissions';
import { verifyToken } from '../../src/auth/tokens';
import { queryRows } from '../../src/storage/db';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { batchOf, connectRaw, createFleet, ingestBatch, liveQuery, point, waitFor, type Fleet, type RawClient } from './live-fixtures';

let t: TestApp;
let fleet: Fleet;
let token: string;
const clients: RawClient[] = [];
const T0 = 1_767_225_600_000;

async function client(): Promise<RawClient> {
  const c = await connectRaw(t.url, token);
  clients.push(c);
  return c;
}

const ingestValue = (v: number) => ingestBatch(t.app.deps, batchOf(fleet, { points: [point(fleet, fleet.devices[0]!, 'temp', T0 + v, v)] }));

beforeAll(async () => {
  t = await startTestApp({ REPLAY_WINDOW_S: '60' });
  token = (await t.tenant('o-resume')).token;
  fleet = await createFleet(t.db, 'o-resume', 'rs', 1, 1);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t.close();
});

describe('offsets and resume', () => {
  it('follows committed appends without reading the log while nothing is watched', async () => {
    const hub = liveOf(t.app.deps).hub;
    await ingestValue(40);
    const start = await getHeadOffset(t.db);
    await waitFor(() => hub.stats().cursor >= start, 'the hub at the head');
    const before = hub.stats().reads;
    for (let v = 41; v < 51; v++) await ingestValue(v);
    const head = await getHeadOffset(t.db);
    await waitFor(() => hub.stats().cursor >= head, 'the hub past the unwatched messages');
    // Reading on each announcement would be two reads per append (the local wake-up and the NOTIFY); only the fallback poll may read.
    expect(hub.stats().reads - before).toBeLessThanOrEqual(2);
  });

  it('reads the payloads of watched organisations only, and the hub keeps up without subscribers', async () => {
    await ingestValue(50);
    const head = await getHeadOffset(t.db);
    const [unwatched] = (await readLogWatched(t.db, head - 1, 10, ['o-other'])).items;
    expect(unwatched).toEqual({ offset: head, orgId: 'o-resume', message: null });
    const [watched] = (await readLogWatched(t.db, head - 1, 10, ['o-resume'])).items;
    expect(watched!.message!.points.map((p) => p.value)).toEqual([50]);
    await waitFor(() => liveOf(t.app.deps).hub.stats().cursor >= head, 'the hub past the unwatched message');
  });

  it('replays what a client missed while disconnected, in order, then continues live', async () => {
    const c1 = await client();
    const s1 = c1.subscribe('1', liveQuery('measurePointsLive'));
    await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers === 1, 'subscriber');
    for (const v of [1, 2]) await ingestValue(v);
    await waitFor(() => s1.batches.length === 2, 'two batches');
    expect(Number(s1.batches[1]!.offset)).toBeGreaterThan(Number(s1.batches[0]!.offset));
    c1.close();
    await c1.closed;
    for (const v of [3, 4, 5]) await ingestValue(v);

    const c2 = await client();
    const s2 = c2.subscribe('2', liveQuery('measurePointsLive'), { fromOffset: s1.batches[1]!.offset });
    await waitFor(() => s2.batches.length === 3, 'the three missed batches');
    await ingestValue(6);
    await waitFor(() => s2.batches.length === 4, 'the live batch');
    expect(s2.batches.map((b) => b.points[0]!.value)).toEqual([3, 4, 5, 6]);
    c2.close();
  });

  it('loses nothing when a client reconnects from its last offset while ingestion keeps running', async () => {
    const N = 60;
    const seen: number[] = [];
    let c = await client();
    let s = c.subscribe('a', liveQuery('measurePointsLive'));
    let last: string | undefined;
    await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers === 1, 'subscriber');
    const writer = (async () => {
      for (let v = 100; v < 100 + N; v++) {
        await ingestValue(v);
        if (v % 7 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    for (let round = 0; round < 3; round++) {
      await waitFor(() => s.batches.length >= 5 || seen.length + s.batches.length >= N, 'some batches');
      await new Promise((r) => setTimeout(r, 30));
      last = s.batches.at(-1)?.offset ?? last;
      seen.push(...s.batches.map((b) => b.points[0]!.value as number));
      c.close();
      await c.closed;
      c = await client();
      s = c.subscribe('b', liveQuery('measurePointsLive'), { fromOffset: last! });
    }
    await writer;
    await waitFor(() => new Set([...seen, ...s.batches.map((b) => b.points[0]!.value as number)]).size === N, 'every value');
    const all = [...seen, ...s.batches.map((b) => b.points[0]!.value as number)];
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(new Set(all)).toEqual(new Set(Array.from({ length: N }, (_, i) => 100 + i)));
    c.close();
  });

  it('refuses an offset older than the replay window with OFFSET_OUT_OF_RANGE', async () => {
    const [head] = await queryRows<{ h: string }>(t.db, sql`select max(log_offset)::text as h from live_messages`);
    await ingestValue(1000);
    await ingestValue(1001);
    await queryRows(t.db, sql`update live_messages set created_at = now() - interval '2 hours' where log_offset > ${Number(head!.h)}`);
    const c = await client();
    const expired = c.subscribe('x', liveQuery('measurePointsLive'), { fromOffset: head!.h });
    await waitFor(() => expired.errors.length > 0, 'error');
    expect(expired.errors[0]!.extensions?.code).toBe('OFFSET_OUT_OF_RANGE');

    expect(await pruneLog(t.db, 60)).toBeGreaterThanOrEqual(2);
    const pruned = c.subscribe('y', liveQuery('measurePointsLive'), { fromOffset: head!.h });
    await waitFor(() => pruned.errors.length > 0, 'error');
    expect(pruned.errors[0]!.extensions?.code).toBe('OFFSET_OUT_OF_RANGE');

    const [now] = await queryRows<{ h: string }>(t.db, sql`select coalesce(max(log_offset), 0)::text as h from live_messages`);
    const current = c.subscribe('z', liveQuery('measurePointsLive'), { fromOffset: String(Math.max(Number(now!.h), Number(head!.h) + 2)) });
    await new Promise((r) => setTimeout(r, 200));
    await ingestValue(1002);
    await waitFor(() => current.batches.length === 1, 'live batch after resuming at the head');
    expect(current.errors).toEqual([]);
    c.close();
  });

  it('closes live subscribers with 4008 when retention removed messages before the hub read them; resuming is then refused', async () => {
    const c = await client();
    const s = c.subscribe('g', liveQuery('measurePointsLive'));
    await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers === 1, 'subscriber');
    await ingestValue(2000);
    await waitFor(() => s.batches.length === 1, 'a live batch');
    // A message that retention removed before the hub read it (a hub stalled for longer than the
    // replay window): its offset is taken and recorded as removed, and no message is left to read.
    await queryRows(t.db, sql`insert into live_log_state (id, pruned_through) values (1, nextval(pg_get_serial_sequence('live_messages', 'log_offset'))) on conflict (id) do update set pruned_through = excluded.pruned_through`);
    await ingestValue(2001);
    const closed = await c.closed;
    expect(closed.code).toBe(CLOSE_SLOW_CONSUMER);
    expect(closed.reason).toMatch(/retention/);
    expect(s.batches).toHaveLength(1);
    const again = await client();
    const resumed = again.subscribe('h', liveQuery('measurePointsLive'), { fromOffset: s.batches[0]!.offset });
    await waitFor(() => resumed.errors.length > 0, 'error');
    expect(resumed.errors[0]!.extensions?.code).toBe('OFFSET_OUT_OF_RANGE');
    again.close();
  });

  it('ends a replay with 4008 when retention removes messages it has not read yet', async () => {
    const from = await getHeadOffset(t.db);
    await ingestValue(3000);
    await ingestValue(3001);
    const [first] = await queryRows<{ o: string }>(t.db, sql`select min(log_offset)::text as o from live_messages where log_offset > ${from}`);
    const caller = await verifyToken(t.db, token);
    const closes: { code: number; reason: string }[] = [];
    const stream = await liveOf(t.app.deps).openStream(new Access(caller), { close: (code, reason) => closes.push({ code, reason }) }, 'MEASURE_POINTS', { fromOffset: String(from) });
    // Retention removes the first message after the stream opened (its resume check passed) and before it read it.
    await queryRows(t.db, sql`update live_messages set created_at = now() - interval '2 hours' where log_offset = ${Number(first!.o)}`);
    expect(await pruneLog(t.db, 60)).toBe(1);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(closes).toEqual([{ code: CLOSE_SLOW_CONSUMER, reason: expect.stringMatching(/retention/) }]);
  });

  it('refuses a malformed offset, or one ahead of the log, with BAD_USER_INPUT', async () => {
    const c = await client();
    const s = c.subscribe('m', liveQuery('measurePointsLive'), { fromOffset: '12x' });
    const ahead = c.subscribe('a', liveQuery('measurePointsLive'), { fromOffset: '999999999' });
    await waitFor(() => s.errors.length > 0 && ahead.errors.length > 0, 'errors');
    expect(s.errors[0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect(ahead.errors[0]!.extensions?.code).toBe('BAD_USER_INPUT');
    c.close();
  });
});
