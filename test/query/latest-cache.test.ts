import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type SQL } from 'drizzle-orm';
import { getHeadOffset } from '../../src/live/log';
import { liveOf } from '../../src/live/service';
import type { LatestLookup } from '../../src/query/latest-cache';
import { loadFeatures } from '../../src/query/selection';
import { createDevice } from '../../src/registry/devices';
import { createModel } from '../../src/registry/models';
import { createProduct } from '../../src/registry/products';
import type { DbOrTx } from '../../src/storage/db';
import { startTestApp, errorCode, type Tenant, type TestApp } from '../helpers/test-app';
import { seedFleet, type Fleet } from '../fixtures/seed-data';

/*
 * The latest-values cache (src/query/latest-cache.ts): a second instance keeps latest values in
 * memory, moved by the message log; what it answers must be what the database holds at the time
 * of the request, whatever the first instance acknowledged just before.
 */

const T0 = Date.UTC(2026, 2, 3);
const POST = `mutation($items: [PointsItemInput!]!, $channel: Channel) { postMeasurePoints(items: $items, channel: $channel) { accepted } }`;
const BY_DEVICE = `query($a: [ID!]!, $p: [String!]) { latestValuesByDevice(devices: { assetIds: $a }, points: $p) { assetId points times values qualities } }`;
const LATEST = `query($a: [ID!]!, $p: [String!]) { latestValues(devices: { assetIds: $a }, points: $p) { assetId point time value quality } }`;

let writer: TestApp;
let reader: TestApp;
/** Keeps too few values for the three devices read together: every read loads them. */
let small: TestApp;
/** No cache: every read goes to the database. */
let plain: TestApp;
let tenant: Tenant;
let other: Tenant;
let fleet: Fleet;
let otherFleet: Fleet;

const stats = (t: TestApp) => liveOf(t.app.deps).latest.stats();
const assets = () => fleet.devices.map((d) => d.assetId);

async function post(items: unknown[], channel: 'REALTIME' | 'OFFLINE' = 'REALTIME'): Promise<void> {
  const r = await writer.gql(tenant.token, POST, { items, channel });
  expect(r.errors).toBeUndefined();
}

beforeAll(async () => {
  writer = await startTestApp();
  // NOTE: a generous catch-up wait, so that a loaded test machine does not turn expected hits into reads of the database.
  reader = await startTestApp({ LATEST_CACHE_CATCH_UP_MS: '10000' }, { tdb: writer.tdb });
  small = await startTestApp({ LATEST_CACHE_MAX_VALUES: '4', LATEST_CACHE_CATCH_UP_MS: '10000' }, { tdb: writer.tdb });
  plain = await startTestApp({ LATEST_CACHE_MAX_VALUES: '0' }, { tdb: writer.tdb });
  tenant = await writer.tenant('o-lcache');
  other = await writer.tenant('o-lcache-other');
  fleet = await seedFleet(writer.db, 'o-lcache', { productKey: 'lc-inv', count: 3 });
  otherFleet = await seedFleet(writer.db, 'o-lcache-other', { productKey: 'lc-other', count: 1 });
});
afterAll(async () => {
  await plain.close();
  await small.close();
  await reader.close();
  await writer.close();
});

describe('the latest-values cache', () => {
  it('answers from memory what the database holds, for every data type', async () => {
    const [a0, a1] = assets();
    await post([{ assetId: a0, time: T0, values: { power: { value: 1.5, quality: 2 }, temp: 20.25, running: true, mode: 'auto', info: { fw: '1.0' } } }]);
    // First read: loads the devices (and keeps them).
    const first = await reader.gql(tenant.token, BY_DEVICE, { a: [a0, a1], p: null });
    expect(first.errors).toBeUndefined();
    expect(first.data!.latestValuesByDevice[0]).toEqual({ assetId: a0, points: ['power', 'temp', 'running', 'mode', 'info'], times: [T0, T0, T0, T0, T0], values: [1.5, 20.25, true, 'auto', { fw: '1.0' }], qualities: [2, null, null, null, null] });
    expect(first.data!.latestValuesByDevice[1]).toEqual({ assetId: a1, points: [], times: [], values: [], qualities: [] });
    // Then values arrive through the log, of every type, on a device that had none.
    const hits = stats(reader).hits;
    await post([
      { assetId: a0, time: T0 + 1000, values: { power: { value: -3, quality: 0 }, running: false, info: { fw: '2.0' } } },
      { assetId: a1, time: T0 + 500, values: { temp: 18.5, mode: 'manual' } },
    ]);
    for (const q of [BY_DEVICE, LATEST]) {
      const cached = await reader.gql(tenant.token, q, { a: [a0, a1], p: null });
      const direct = await plain.gql(tenant.token, q, { a: [a0, a1], p: null });
      expect(cached.errors).toBeUndefined();
      expect(cached.data).toEqual(direct.data);
    }
    expect(stats(reader).hits).toBe(hits + 2);
    expect(stats(plain).hits).toBe(0);
    const r = await reader.gql(tenant.token, LATEST, { a: [a0, a1], p: ['power', 'mode', 'info'] });
    expect(r.data!.latestValues).toEqual([
      { assetId: a0, point: 'power', time: T0 + 1000, value: -3, quality: 0 },
      { assetId: a0, point: 'mode', time: T0, value: 'auto', quality: null },
      { assetId: a0, point: 'info', time: T0 + 1000, value: { fw: '2.0' }, quality: null },
      { assetId: a1, point: 'mode', time: T0 + 500, value: 'manual', quality: null },
    ]);
  });

  it('gives back a struct with its keys in the order the database gives them', async () => {
    const member = (identifier: string, dataType: string, extra: object = {}) => ({ identifier, name: identifier, type: { dataType, ...extra } });
    const nested = member('nested', 'STRUCT', { members: [member('zz', 'INT'), member('b', 'INT')] });
    await createModel(writer.db, 'o-lcache', { identifier: 'lc-doc', name: 'Doc', measurePoints: [member('doc', 'STRUCT', { members: [member('serial', 'STRING'), member('fw', 'STRING'), member('a', 'INT'), nested] })] });
    await createProduct(writer.db, 'o-lcache', { productKey: 'lc-doc', name: 'Doc', modelIdentifier: 'lc-doc' });
    const { assetId } = await createDevice(writer.db, 'o-lcache', { productKey: 'lc-doc', name: 'Doc 1' });
    // Held before the value arrives, so that the value comes from the log, as sent.
    expect((await reader.gql(tenant.token, LATEST, { a: [assetId], p: null })).data!.latestValues).toEqual([]);
    await post([{ assetId, time: T0, values: { doc: { serial: 'S-1', fw: '3.1', a: 7, nested: { zz: 1, b: 2 } } } }]);
    const hits = stats(reader).hits;
    const cached = await reader.gql(tenant.token, LATEST, { a: [assetId], p: null });
    const direct = await plain.gql(tenant.token, LATEST, { a: [assetId], p: null });
    expect(stats(reader).hits).toBe(hits + 1);
    // jsonb keeps shorter keys first, then keys of one length in byte order.
    expect(JSON.stringify(direct.data!.latestValues[0].value)).toBe('{"a":7,"fw":"3.1","nested":{"b":2,"zz":1},"serial":"S-1"}');
    expect(JSON.stringify(cached.data)).toBe(JSON.stringify(direct.data));
  });

  it('answers Device.latest and the REST shim from memory too', async () => {
    const [a0, a1] = assets();
    const hits = stats(reader).hits;
    const r = await reader.gql(tenant.token, `{ devices(filter: { productKey: "lc-inv" }) { edges { node { assetId latest(points: ["power", "mode"]) { point value } } } } }`);
    expect(r.errors).toBeUndefined();
    const direct = await plain.gql(tenant.token, `{ devices(filter: { productKey: "lc-inv" }) { edges { node { assetId latest(points: ["power", "mode"]) { point value } } } } }`);
    expect(r.data).toEqual(direct.data);
    expect(r.data!.devices.edges.find((e: { node: { assetId: string } }) => e.node.assetId === a0).node.latest).toEqual([
      { point: 'power', value: -3 },
      { point: 'mode', value: 'auto' },
    ]);
    // One batched read for the whole list.
    expect(stats(reader).hits).toBe(hits + 1);
    const rest = await fetch(`${reader.url}/tsdb-service/v2.1/latest?orgId=o-lcache`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'apim-accesstoken': tenant.token },
      body: JSON.stringify({ assetIds: `${a0},${a1}`, pointIds: 'power' }),
    });
    const body = (await rest.json()) as { code: number; data: { items: { assetId: string; power: number }[] } };
    expect(body.code).toBe(0);
    expect(body.data.items.find((i) => i.assetId === a0)?.power).toBe(-3);
    expect(stats(reader).hits).toBe(hits + 2);
  });

  it('keeps the rules of the database: a retry at the same time replaces, older and offline values never move', async () => {
    const [a0] = assets();
    await reader.gql(tenant.token, LATEST, { a: [a0], p: ['power'] });
    await post([{ assetId: a0, time: T0 + 1000, values: { power: { value: 7, quality: 1 } } }]); // retry of the same time
    await post([{ assetId: a0, time: T0 + 10, values: { power: { value: 99, quality: 0 } } }]); // older
    await post([{ assetId: a0, time: T0 + 90_000, values: { power: { value: 55, quality: 0 } } }], 'OFFLINE');
    const hits = stats(reader).hits;
    const r = await reader.gql(tenant.token, LATEST, { a: [a0], p: ['power'] });
    expect(r.data!.latestValues).toEqual([{ assetId: a0, point: 'power', time: T0 + 1000, value: 7, quality: 1 }]);
    expect(stats(reader).hits).toBe(hits + 1);
    expect((await plain.gql(tenant.token, LATEST, { a: [a0], p: ['power'] })).data).toEqual(r.data);
    // `since` leaves out older values, as in SQL.
    const since = await reader.gql(tenant.token, `query($a: [ID!]!) { latestValues(devices: { assetIds: $a }, points: ["power", "mode"], since: ${T0 + 1} ) { point } }`, { a: [a0] });
    expect(since.data!.latestValues).toEqual([{ point: 'power' }]);
  });

  it('shows every acknowledged value to the next read while ingest runs, from kept and from freshly loaded devices', async () => {
    const all = assets();
    const ROUNDS = 40;
    let acked = 0;
    let done = false;
    const violations: string[] = [];
    const hitsBefore = stats(reader).hits;
    const ingest = (async () => {
      try {
        for (let i = 1; i <= ROUNDS; i++) {
          await post(all.map((assetId) => ({ assetId, time: T0 + 100_000 + i * 1000, values: { power: { value: i, quality: 0 } } })));
          acked = i;
        }
      } finally {
        done = true;
      }
    })();
    const readLoop = async (t: TestApp, name: string) => {
      let reads = 0;
      while (!done) {
        const floor = acked;
        const r = await t.gql(tenant.token, BY_DEVICE, { a: all, p: ['power'] });
        if (r.errors) violations.push(`${name}: ${JSON.stringify(r.errors)}`);
        else for (const d of r.data!.latestValuesByDevice as { assetId: string; values: number[] }[]) if (floor && !(d.values[0]! >= floor)) violations.push(`${name} read ${d.values[0]} for ${d.assetId} after ${floor} was acknowledged`);
        reads++;
      }
      return reads;
    };
    const [readerReads, smallReads] = await Promise.all([readLoop(reader, 'reader'), readLoop(small, 'small'), ingest]);
    expect(violations).toEqual([]);
    expect(readerReads).toBeGreaterThan(3);
    expect(smallReads).toBeGreaterThan(3);
    expect(stats(reader).hits).toBeGreaterThan(hitsBefore);
    // The small instance could not keep the three devices: it loaded them on every read.
    expect(stats(small).devices).toBe(0);
    expect(stats(small).hits).toBeGreaterThan(3);
    for (const t of [reader, small]) {
      const r = await t.gql(tenant.token, BY_DEVICE, { a: all, p: ['power'] });
      expect(r.data!.latestValuesByDevice.map((d: { values: number[] }) => d.values)).toEqual([[ROUNDS], [ROUNDS], [ROUNDS]]);
    }
  });

  it('replays onto a device being loaded what the hub dispatched while the load ran', async () => {
    const { deps } = reader.app;
    const cache = liveOf(deps).latest;
    const d = await createDevice(writer.db, 'o-lcache', { productKey: 'lc-inv', deviceKey: 'lc-inv-race', name: 'race' });
    const device = { id: d.id, assetId: d.assetId, productKey: d.productKey, modelId: d.modelId };
    const index = await loadFeatures(deps.db, [d.modelId], 'MEASUREPOINT');
    const power = index.get(d.modelId)!.get('power')!;
    const mode = index.get(d.modelId)!.get('mode')!;
    const valuesOf = (l: LatestLookup | null) => [l!.get(d.id, power)?.value, l!.get(d.id, mode)?.value];
    await post([{ assetId: d.assetId, time: T0, values: { power: { value: 1, quality: 0 } } }]);
    // The load's result is held back after its snapshot was taken, while a write commits and the hub dispatches it.
    let statements = 0;
    let snapshotTaken!: () => void;
    const taken = new Promise<void>((r) => (snapshotTaken = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = {
      async execute(q: SQL) {
        const res = await deps.db.execute(q);
        if (++statements === 2) {
          snapshotTaken();
          await held;
        }
        return res;
      },
    } as unknown as DbOrTx;
    const reading = cache.read(slow, 'o-lcache', [device], index);
    await taken;
    await post([{ assetId: d.assetId, time: T0 + 5, values: { mode: 'late' } }]);
    expect(await liveOf(deps).hub.catchUp(await getHeadOffset(deps.db), 5_000)).toBe(true);
    release();
    expect(valuesOf(await reading)).toEqual([1, 'late']);
    // The device was kept with the replayed value: the next read answers it from memory.
    const hits = stats(reader).hits;
    expect(valuesOf(await cache.read(deps.db, 'o-lcache', [device], index))).toEqual([1, 'late']);
    expect(stats(reader).hits).toBe(hits + 1);
  });

  it('starts again when retention removed messages before the hub read them', async () => {
    const [a0, a1] = assets();
    const later = T0 + 10 * 86_400_000;
    await post([{ assetId: a0, time: later, values: { power: 10 } }]);
    expect((await reader.gql(tenant.token, LATEST, { a: [a0], p: ['power'] })).data!.latestValues[0].value).toBe(10);
    // A value whose log message retention removed before this instance's hub read it (a hub
    // stalled for longer than the replay window): the row moves and the record of the removal
    // passes the hub, in one transaction, with no message to read.
    await writer.db.transaction(async (tx) => {
      await tx.execute(sql`update latest_values set num = 42, time = ${new Date(later + 1000).toISOString()}::timestamptz where device_id = ${fleet.devices[0]!.id} and point_id = ${fleet.points['power']!}`);
      await tx.execute(sql`insert into live_log_state (id, pruned_through) values (1, nextval(pg_get_serial_sequence('live_messages', 'log_offset')))
        on conflict (id) do update set pruned_through = excluded.pruned_through`);
    });
    // Later messages move the hub past the removed one.
    await post([{ assetId: a1, time: later + 2000, values: { power: 11 } }]);
    const r = await reader.gql(tenant.token, LATEST, { a: [a0, a1], p: ['power'] });
    expect(r.data!.latestValues.map((v: { value: unknown }) => v.value)).toEqual([42, 11]);
  });

  it('forgets a deleted device: a device created again under the same key starts empty', async () => {
    const [, , a2] = assets();
    expect((await reader.gql(tenant.token, LATEST, { a: [a2], p: ['power'] })).data!.latestValues).toHaveLength(1);
    const del = await writer.gql(tenant.token, `mutation($a: ID!) { deleteDevice(device: { assetId: $a }) }`, { a: a2 });
    expect(del.errors).toBeUndefined();
    expect(errorCode(await reader.gql(tenant.token, LATEST, { a: [a2], p: ['power'] }))).toBe('NOT_FOUND');
    const created = await writer.gql(tenant.token, `mutation { createDevice(input: { productKey: "lc-inv", deviceKey: "lc-inv-dev2", name: "again" }) { assetId } }`);
    expect(created.errors).toBeUndefined();
    const again = created.data!.createDevice.assetId as string;
    expect((await reader.gql(tenant.token, LATEST, { a: [again], p: ['power'] })).data!.latestValues).toEqual([]);
  });

  it('answers another organisation nothing of this one, kept or not', async () => {
    const [a0] = assets();
    await reader.gql(tenant.token, LATEST, { a: [a0], p: ['power'] });
    expect(errorCode(await reader.gql(other.token, LATEST, { a: [a0], p: ['power'] }))).toBe('NOT_FOUND');
    expect((await reader.gql(other.token, LATEST, { a: [otherFleet.devices[0]!.assetId], p: ['power'] })).data!.latestValues).toEqual([]);
    // Asked directly for a device of another organisation, the cache refuses (the caller reads the database, scoped).
    const { deps } = reader.app;
    const device = { id: fleet.devices[0]!.id, assetId: fleet.devices[0]!.assetId, productKey: fleet.productKey, modelId: -1 };
    expect(await liveOf(deps).latest.read(deps.db, 'o-lcache-other', [device], new Map())).toBeNull();
  });
});
