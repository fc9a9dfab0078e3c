import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { insertEvents, insertFile, seedFleet, setAttribute, type Fleet } from '../fixtures/seed-data';

const T0 = Date.UTC(2026, 0, 10, 0, 0, 0);
const MIN = 60_000;

let t: TestApp;
let admin: Tenant;
let fleet: Fleet;

const ATTRS = `query($device: DeviceRefInput!, $attributes: [String!]) { attributeValues(device: $device, attributes: $attributes) { attribute value updatedAt } }`;
const ATTR_HISTORY = `query($device: DeviceRefInput!, $attribute: String!, $from: Timestamp, $to: Timestamp, $order: SortOrder, $first: Int, $after: String) {
  attributeHistory(device: $device, attribute: $attribute, from: $from, to: $to, order: $order, first: $first, after: $after) {
    edges { node { time value source } } pageInfo { hasNextPage endCursor } } }`;
const EVENTS = `query($devices: DeviceSelector!, $events: [String!], $levels: [EventLevel!], $from: Timestamp!, $to: Timestamp!, $order: SortOrder, $first: Int, $after: String) {
  eventHistory(devices: $devices, events: $events, levels: $levels, from: $from, to: $to, order: $order, first: $first, after: $after) {
    edges { node { assetId event level time params offline } } pageInfo { hasNextPage endCursor } } }`;
const FILES = `query($device: DeviceRefInput!, $first: Int, $after: String) {
  files(device: $device, first: $first, after: $after) { edges { node { uri downloadPath fileName originalName contentType sizeBytes md5 feature createdAt } } pageInfo { hasNextPage endCursor } } }`;

beforeAll(async () => {
  t = await startTestApp({ QUERY_PAGE_MAX_ROWS: '20' });
  admin = await t.tenant('o-rec');
  fleet = await seedFleet(t.db, 'o-rec', { productKey: 'rec-inv', count: 2 });
  const [d0, d1] = fleet.devices;
  await setAttribute(t.db, d0!.id, fleet.attributes['location']!, T0, 'Hall 1', 'registry');
  await setAttribute(t.db, d0!.id, fleet.attributes['location']!, T0 + MIN, 'Hall 2');
  await setAttribute(t.db, d0!.id, fleet.attributes['location']!, T0 + 2 * MIN, 'Hall 3');
  await setAttribute(t.db, d0!.id, fleet.attributes['capacity']!, T0, 5.5);
  const ev = fleet.events;
  await insertEvents(t.db, [
    { deviceId: d0!.id, eventId: ev['overheat']!, time: T0, level: 'WARN', params: { temp: 80 } },
    { deviceId: d0!.id, eventId: ev['fault']!, time: T0 + MIN, level: 'ERROR', params: { code: 1 } },
    { deviceId: d1!.id, eventId: ev['fault']!, time: T0 + MIN, level: 'ERROR', params: { code: 2 } },
    { deviceId: d0!.id, eventId: ev['overheat']!, time: T0 + 3 * MIN, level: 'WARN', params: { temp: 90 }, offline: true },
  ]);
  // A retried event replaces the stored one.
  await insertEvents(t.db, [{ deviceId: d0!.id, eventId: ev['fault']!, time: T0 + MIN, level: 'ERROR', params: { code: 7 } }]);
  for (let i = 0; i < 5; i++) await insertFile(t.db, { orgId: 'o-rec', deviceId: d0!.id, featureId: fleet.points['mode']!, name: `f${i}.bin`, size: 100 + i, md5: `${i}`.repeat(32), createdAt: T0 + i * MIN });
  await insertFile(t.db, { orgId: 'o-rec', deviceId: d0!.id, name: 'pending.bin', size: 1, md5: 'a'.repeat(32), createdAt: T0 + 9 * MIN, state: 'pending' });
});
afterAll(() => t.close());

describe('attributes', () => {
  it('returns current attribute values, all or those named', async () => {
    const device = { assetId: fleet.devices[0]!.assetId };
    const all = await t.gql(admin.token, ATTRS, { device });
    expect(all.data!.attributeValues).toEqual([
      { attribute: 'location', value: 'Hall 3', updatedAt: T0 + 2 * MIN },
      { attribute: 'capacity', value: 5.5, updatedAt: T0 },
    ]);
    const one = await t.gql(admin.token, ATTRS, { device, attributes: ['capacity'] });
    expect(one.data!.attributeValues).toEqual([{ attribute: 'capacity', value: 5.5, updatedAt: T0 }]);
    expect(errorCode(await t.gql(admin.token, ATTRS, { device, attributes: ['nope'] }))).toBe('BAD_USER_INPUT');
  });

  it('pages the change history of one attribute, newest first by default', async () => {
    const device = { productKey: 'rec-inv', deviceKey: fleet.devices[0]!.deviceKey };
    const p1 = await t.gql(admin.token, ATTR_HISTORY, { device, attribute: 'location', first: 2 });
    expect(p1.data!.attributeHistory.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { time: T0 + 2 * MIN, value: 'Hall 3', source: 'ingest' },
      { time: T0 + MIN, value: 'Hall 2', source: 'ingest' },
    ]);
    const p2 = await t.gql(admin.token, ATTR_HISTORY, { device, attribute: 'location', first: 2, after: p1.data!.attributeHistory.pageInfo.endCursor });
    expect(p2.data!.attributeHistory).toEqual({ edges: [{ node: { time: T0, value: 'Hall 1', source: 'registry' } }], pageInfo: { hasNextPage: false, endCursor: expect.any(String) } });
    const asc = await t.gql(admin.token, ATTR_HISTORY, { device, attribute: 'location', order: 'ASC', from: T0 + MIN, to: T0 + 2 * MIN });
    expect(asc.data!.attributeHistory.edges.map((e: { node: { value: string } }) => e.node.value)).toEqual(['Hall 2']);
  });
});

describe('eventHistory', () => {
  it('filters by device, event identifier, level and time range, newest first, retried events replaced', async () => {
    const [d0, d1] = fleet.devices;
    const all = await t.gql(admin.token, EVENTS, { devices: { productKey: 'rec-inv' }, from: T0, to: T0 + 10 * MIN });
    expect(all.errors).toBeUndefined();
    expect(all.data!.eventHistory.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { assetId: d0!.assetId, event: 'overheat', level: 'WARN', time: T0 + 3 * MIN, params: { temp: 90 }, offline: true },
      { assetId: d1!.assetId, event: 'fault', level: 'ERROR', time: T0 + MIN, params: { code: 2 }, offline: false },
      { assetId: d0!.assetId, event: 'fault', level: 'ERROR', time: T0 + MIN, params: { code: 7 }, offline: false },
      { assetId: d0!.assetId, event: 'overheat', level: 'WARN', time: T0, params: { temp: 80 }, offline: false },
    ]);
    const faults = await t.gql(admin.token, EVENTS, { devices: { assetIds: [d0!.assetId] }, events: ['fault'], from: T0, to: T0 + 10 * MIN });
    expect(faults.data!.eventHistory.edges).toHaveLength(1);
    const warn = await t.gql(admin.token, EVENTS, { devices: { assetIds: [d0!.assetId] }, levels: ['WARN'], from: T0, to: T0 + 2 * MIN, order: 'ASC' });
    expect(warn.data!.eventHistory.edges.map((e: { node: { time: number } }) => e.node.time)).toEqual([T0]);
    expect(errorCode(await t.gql(admin.token, EVENTS, { devices: { assetIds: [d0!.assetId] }, events: ['nope'], from: T0, to: T0 + 1 }))).toBe('BAD_USER_INPUT');
  });

  it('pages events by cursor without repeating or skipping one', async () => {
    const seen: number[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r: { data: any } = await t.gql(admin.token, EVENTS, { devices: { productKey: 'rec-inv' }, from: T0, to: T0 + 10 * MIN, first: 1, after });
      seen.push(...r.data.eventHistory.edges.map((e: { node: { time: number } }) => e.node.time));
      if (!r.data.eventHistory.pageInfo.hasNextPage) break;
      after = r.data.eventHistory.pageInfo.endCursor;
    }
    expect(seen).toEqual([T0 + 3 * MIN, T0 + MIN, T0 + MIN, T0]);
    // One device and one event (the statement names the series by equality), in both orders.
    for (const [order, want] of [['DESC', [T0 + 3 * MIN, T0]], ['ASC', [T0, T0 + 3 * MIN]]] as const) {
      const times: number[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 5; i++) {
        const r: { data: any } = await t.gql(admin.token, EVENTS, { devices: { assetIds: [fleet.devices[0]!.assetId] }, events: ['overheat'], order, from: T0, to: T0 + 10 * MIN, first: 1, after: cursor });
        times.push(...r.data.eventHistory.edges.map((e: { node: { time: number } }) => e.node.time));
        if (!r.data.eventHistory.pageInfo.hasNextPage) break;
        cursor = r.data.eventHistory.pageInfo.endCursor;
      }
      expect(times).toEqual(want);
    }
  });

  it('answers an empty page for an empty range', async () => {
    const r = await t.gql(admin.token, EVENTS, { devices: { productKey: 'rec-inv' }, from: T0 + 60 * MIN, to: T0 + 90 * MIN });
    expect(r.data!.eventHistory.edges).toEqual([]);
  });
});

describe('files', () => {
  it('lists committed files with their metadata, newest first, in pages', async () => {
    const device = { assetId: fleet.devices[0]!.assetId };
    const p1 = await t.gql(admin.token, FILES, { device, first: 3 });
    expect(p1.errors).toBeUndefined();
    expect(p1.data!.files.edges.map((e: { node: { fileName: string } }) => e.node.fileName)).toEqual(['f4.bin', 'f3.bin', 'f2.bin']);
    expect(p1.data!.files.edges[0].node).toEqual({ uri: `enos-connect://${fleet.devices[0]!.id}/f4.bin`, downloadPath: `/files/${fleet.devices[0]!.id}/f4.bin`, fileName: 'f4.bin', originalName: 'f4.bin', contentType: 'application/octet-stream', sizeBytes: 104, md5: '4'.repeat(32), feature: 'mode', createdAt: new Date(T0 + 4 * MIN).toISOString() });
    // A file committed meanwhile does not shift the next page.
    await insertFile(t.db, { orgId: 'o-rec', deviceId: fleet.devices[0]!.id, name: 'late.bin', size: 1, md5: 'b'.repeat(32), createdAt: T0 + 20 * MIN });
    const p2 = await t.gql(admin.token, FILES, { device, first: 3, after: p1.data!.files.pageInfo.endCursor });
    expect(p2.data!.files.edges.map((e: { node: { fileName: string } }) => e.node.fileName)).toEqual(['f1.bin', 'f0.bin']);
    expect(p2.data!.files.pageInfo.hasNextPage).toBe(false);
    expect(errorCode(await t.gql(admin.token, FILES, { device, first: 21 }))).toBe('BAD_USER_INPUT');
  });

  it('answers an empty list for a device without files', async () => {
    const r = await t.gql(admin.token, FILES, { device: { assetId: fleet.devices[1]!.assetId } });
    expect(r.data!.files.edges).toEqual([]);
  });
});
