import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { insertPoints, seedFleet, type Fleet } from '../fixtures/seed-data';

const T0 = Date.UTC(2026, 0, 10);
const HISTORY = `query($devices: DeviceSelector!, $points: [String!]!, $from: Timestamp!, $to: Timestamp!) {
  pointHistory(devices: $devices, points: $points, from: $from, to: $to) { edges { node { time value } } } }`;

let t: TestApp;
let admin: Tenant;
let fleet: Fleet;
beforeAll(async () => {
  t = await startTestApp({ QUERY_STATEMENT_TIMEOUT_MS: '300' });
  admin = await t.tenant('o-budget');
  fleet = await seedFleet(t.db, 'o-budget', { productKey: 'budget-inv', count: 1 });
  const device = fleet.devices[0]!;
  await insertPoints(t.db, [0, 1, 2].map((m) => ({ deviceId: device.id, pointId: fleet.points['power']!, time: T0 + m * 60_000, value: 10 + m, quality: 0 })));
});
afterAll(() => t.close());

/** A promise and its resolver. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const history = () => t.gql(admin.token, HISTORY, { devices: { assetIds: [fleet.devices[0]!.assetId] }, points: ['power'], from: T0, to: T0 + 3_600_000 });

describe('statement timeout of data queries', () => {
  it('ends a query that runs past QUERY_STATEMENT_TIMEOUT_MS with QUERY_TOO_COMPLEX, and the next queries read correct rows', async () => {
    const expected = [10, 11, 12];
    const values = (r: Awaited<ReturnType<typeof history>>) => (r.data?.['pointHistory'] as { edges: { node: { value: number } }[] } | undefined)?.edges.map((e) => e.node.value);
    expect(values(await history())).toEqual(expected);
    // A lock held elsewhere makes the query wait, as an expensive plan would make it run.
    const locker = postgres(t.tdb.url!, { max: 1, onnotice: () => {} });
    const held = deferred();
    const release = deferred();
    const tx = locker.begin(async (sql) => {
      await sql`lock table point_data in access exclusive mode`;
      held.resolve();
      await release.promise;
    });
    const safety = setTimeout(() => release.resolve(), 8_000);
    try {
      await held.promise;
      const started = Date.now();
      const r = await history();
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(r.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(r.errors?.[0]?.message).toMatch(/time budget/);
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    } finally {
      clearTimeout(safety);
      release.resolve();
      await tx;
      await locker.end();
    }
    for (let i = 0; i < 5; i++) expect(values(await history())).toEqual(expected);
  });
});
