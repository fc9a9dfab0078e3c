import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { insertPoints, seedFleet, type Fleet } from '../fixtures/seed-data';

const T0 = Date.UTC(2026, 0, 10);
const MIN = 60_000;

// Small limits so that each one is reached with little data.
let t: TestApp;
let admin: Tenant;
let other: Tenant;
let fleet: Fleet;
let otherFleet: Fleet;
beforeAll(async () => {
  t = await startTestApp({
    QUERY_MAX_RESPONSE_VALUES: '1000',
    QUERY_MAX_RESPONSE_BYTES: '200000',
    QUERY_HEAVY_MIN_VALUES: '500',
    QUERY_HEAVY_MAX_CONCURRENT: '2',
    QUERY_HEAVY_MAX_PER_ORG: '1',
    ADMISSION_QUEUE_TIMEOUT_MS: '300',
    QUERY_PAGE_MAX_ROWS: '100',
  });
  admin = await t.tenant('o-resp');
  other = await t.tenant('o-resp-other');
  fleet = await seedFleet(t.db, 'o-resp', { productKey: 'resp-inv', count: 1 });
  otherFleet = await seedFleet(t.db, 'o-resp-other', { productKey: 'resp-inv2', count: 1 });
  const d = fleet.devices[0]!;
  // 20 text values of 20 kB each: 400 kB of history, past the 200 kB byte cap.
  await insertPoints(
    t.db,
    Array.from({ length: 20 }, (_, i) => ({ deviceId: d.id, pointId: fleet.points['mode']!, time: T0 + i * MIN, value: `${i}`.padEnd(20_000, 'x') })),
  );
  await insertPoints(t.db, [
    { deviceId: d.id, pointId: fleet.points['power']!, time: T0, value: 1 },
    { deviceId: otherFleet.devices[0]!.id, pointId: otherFleet.points['power']!, time: T0, value: 2 },
  ]);
});
afterAll(() => t.close());

/** An aggregate field of `minutes` one-minute buckets (filled: exactly that many values). */
const agg = (alias: string, minutes: number) =>
  `${alias}: pointAggregates(devices: $devices, aggregates: [{ point: "power", function: AVG }], from: ${T0}, to: ${T0 + minutes * MIN}, interval: "1 minute", fill: NULL) { times columns { values } }`;
const ops = (...fields: string[]) => `query($devices: DeviceSelector!) { ${fields.join(' ')} }`;
const devicesOf = (f: Fleet) => ({ devices: { assetIds: [f.devices[0]!.assetId] } });

describe('values one operation may return (QUERY_MAX_RESPONSE_VALUES)', () => {
  it('refuses an aggregate past the budget before reading it, naming the key and how to narrow it', async () => {
    const r = await t.gql(admin.token, ops(agg('a', 1200)), devicesOf(fleet));
    expect(r.status).toBe(200);
    expect(errorCode(r)).toBe('RESPONSE_TOO_LARGE');
    expect(r.errors![0]!.message).toContain('QUERY_MAX_RESPONSE_VALUES');
    expect(r.errors![0]!.message).toContain('longer interval');
    expect(r.errors![0]!.extensions!['details']).toEqual({ max: 1000, requested: 1201 });
  });

  it('counts every field of the operation together, so that aliases cannot multiply a legal field', async () => {
    const one = await t.gql(admin.token, ops(agg('a', 400)), devicesOf(fleet));
    expect(one.errors).toBeUndefined();
    expect(one.data!['a'][0].times).toHaveLength(400);
    const three = await t.gql(admin.token, ops(agg('a', 400), agg('b', 400), agg('c', 400)), devicesOf(fleet));
    expect(three.errors?.map((e) => e.extensions?.code)).toEqual(['RESPONSE_TOO_LARGE']);
  });

  it('gives every operation its own budget', async () => {
    for (let i = 0; i < 3; i++) expect((await t.gql(admin.token, ops(agg('a', 400), agg('b', 400)), devicesOf(fleet))).errors).toBeUndefined();
  });
});

describe('bytes one response may hold (QUERY_MAX_RESPONSE_BYTES)', () => {
  const HISTORY = `query($devices: DeviceSelector!) { pointHistory(devices: $devices, points: ["mode"], from: ${T0}, to: ${T0 + 60 * MIN}, first: 50) { edges { node { value } } } }`;

  it('answers a larger response with RESPONSE_TOO_LARGE over HTTP, and a smaller page of it in full', async () => {
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` }, body: JSON.stringify({ query: HISTORY, variables: devicesOf(fleet) }) });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBeLessThan(2_000);
    const body = JSON.parse(text) as { data: unknown; errors: { message: string; extensions: { code: string } }[] };
    expect(body.data).toBeNull();
    expect(body.errors[0]!.extensions.code).toBe('RESPONSE_TOO_LARGE');
    expect(body.errors[0]!.message).toContain('QUERY_MAX_RESPONSE_BYTES');
    const page = await t.gql(admin.token, HISTORY.replace('first: 50', 'first: 5'), devicesOf(fleet));
    expect(page.errors).toBeUndefined();
    expect(page.data!['pointHistory'].edges).toHaveLength(5);
  });

  it('answers a larger response with RESPONSE_TOO_LARGE over graphql-ws', async () => {
    const client = createClient({ url: t.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { accessToken: admin.token }, retryAttempts: 0 });
    try {
      const result = await new Promise<{ data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
        let got: { data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] } = {};
        client.subscribe({ query: HISTORY, variables: devicesOf(fleet) }, { next: (v) => (got = v as typeof got), error: reject, complete: () => resolve(got) });
      });
      expect(result.errors?.[0]?.extensions?.['code']).toBe('RESPONSE_TOO_LARGE');
    } finally {
      await client.dispose();
    }
  });
});

describe('the heavy-query lane (QUERY_HEAVY_MAX_CONCURRENT, QUERY_HEAVY_MAX_PER_ORG)', () => {
  const lane = () => t.app.deps.heavyQueries;

  it('answers a heavy query of an organisation whose place is taken with 429, RATE_LIMITED and Retry-After; other organisations and light queries go on', async () => {
    const held = await lane().acquire(`org:${admin.orgId}`, 1);
    expect(held).not.toBeNull();
    try {
      const heavy = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` }, body: JSON.stringify({ query: ops(agg('a', 600)), variables: devicesOf(fleet) }) });
      expect(heavy.status).toBe(429);
      expect(heavy.headers.get('retry-after')).toBe('1');
      expect(((await heavy.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
      // A light query of the same organisation is not in the lane.
      expect((await t.gql(admin.token, ops(agg('a', 60)), devicesOf(fleet))).errors).toBeUndefined();
      // Another organisation still has its place.
      const theirs = await t.gql(other.token, ops(agg('a', 600)), devicesOf(otherFleet));
      expect(theirs.errors).toBeUndefined();
      expect(theirs.data!['a'][0].columns[0].values[0]).toBe(2);
    } finally {
      held!.release();
    }
    expect((await t.gql(admin.token, ops(agg('a', 600)), devicesOf(fleet))).errors).toBeUndefined();
    expect(lane().stats()).toMatchObject({ inflightRequests: 0, queued: 0 });
  });

  it('counts a full history page as heavy, and gives the place back after each operation', async () => {
    const page = (first: number) => `query($devices: DeviceSelector!) { pointHistory(devices: $devices, points: ["power"], from: ${T0}, to: ${T0 + MIN}, first: ${first}) { edges { node { value } } } }`;
    const held = await lane().acquire(`org:${admin.orgId}`, 1);
    try {
      expect(errorCode(await t.gql(admin.token, page(100), devicesOf(fleet)))).toBe('RATE_LIMITED');
      expect((await t.gql(admin.token, page(99), devicesOf(fleet))).errors).toBeUndefined();
    } finally {
      held!.release();
    }
    for (let i = 0; i < 3; i++) expect((await t.gql(admin.token, page(100), devicesOf(fleet))).errors).toBeUndefined();
    expect(lane().stats()).toMatchObject({ inflightRequests: 0, queued: 0 });
  });

  it('runs at most QUERY_HEAVY_MAX_CONCURRENT heavy operations per instance, whatever the organisations', async () => {
    const held = [await lane().acquire('org:o-a', 1), await lane().acquire('org:o-b', 1)];
    try {
      expect(errorCode(await t.gql(other.token, ops(agg('a', 600)), devicesOf(otherFleet)))).toBe('RATE_LIMITED');
    } finally {
      for (const h of held) h!.release();
    }
  });
});
