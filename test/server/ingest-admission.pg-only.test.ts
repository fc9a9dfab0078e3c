import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { setupModelDevices } from '../fixtures/devices';

// At most 10 values written at once and no queue: a batch of 10 that arrives while another is written is refused.
// PostgreSQL only: on PGlite (one connection) concurrent ingest calls do not overlap, so none is ever refused.
let t: TestApp;
let tenant: Tenant;
let assetIds: string[];
const MODEL = { identifier: 'meter', name: 'Meter', measurePoints: Array.from({ length: 10 }, (_, i) => ({ identifier: `v${i}`, name: `v${i}`, type: { dataType: 'DOUBLE' } })) };
const POST = 'mutation($items: [PointsItemInput!]!) { postMeasurePoints(items: $items) { accepted } }';

beforeAll(async () => {
  t = await startTestApp({ INGEST_MAX_VALUES_IN_FLIGHT: '10', ADMISSION_QUEUE_MAX: '0' });
  tenant = await t.tenant('o-values');
  assetIds = await setupModelDevices(t, tenant, MODEL, 'pk-values', 1);
});
afterAll(() => t.close());

const batch = (time: number) => ({ items: [{ assetId: assetIds[0], time, values: Object.fromEntries(MODEL.measurePoints.map((p, i) => [p.identifier, i])) }] });

describe('admission of ingest values', () => {
  it('refuses values beyond INGEST_MAX_VALUES_IN_FLIGHT with 429 RATE_LIMITED and Retry-After, and stores every acknowledged batch', async () => {
    const T0 = Date.UTC(2026, 5, 1);
    const results = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` }, body: JSON.stringify({ query: POST, variables: batch(T0 + i * 1000) }) });
        const body = (await res.json()) as { data?: { postMeasurePoints: { accepted: number } } | null; errors?: { extensions: { code: string } }[] };
        return { i, status: res.status, retryAfter: res.headers.get('retry-after'), accepted: body.data?.postMeasurePoints.accepted, code: body.errors?.[0]?.extensions.code };
      }),
    );
    const refused = results.filter((r) => r.status === 429);
    const stored = results.filter((r) => r.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(stored.length).toBeGreaterThan(0);
    expect(refused.length + stored.length).toBe(16);
    for (const r of refused) expect(r).toMatchObject({ code: 'RATE_LIMITED', retryAfter: '1' });
    for (const r of stored) expect(r.accepted).toBe(10);
    expect(t.app.deps.valueAdmission.stats()).toMatchObject({ inflightRequests: 0, inflightBytes: 0 });
    // Every acknowledged batch is stored; a refused one is not.
    const q = await t.gql(tenant.token, 'query($d: DeviceSelector!, $from: Timestamp!, $to: Timestamp!) { pointHistory(devices: $d, points: ["v0"], from: $from, to: $to, first: 100) { edges { node { time } } } }', {
      d: { assetIds },
      from: T0,
      to: T0 + 16_000,
    });
    const times = (q.data?.['pointHistory'] as { edges: { node: { time: number } }[] }).edges.map((e) => e.node.time).sort();
    expect(times).toEqual(stored.map((r) => T0 + r.i * 1000).sort());
  });
});
