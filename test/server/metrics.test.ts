import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, onTestFinished as after } from 'vitest';
import WebSocket from 'ws';
import { mergeJournal } from '../../src/policies/rollup-journal';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { POST_POINTS } from '../ingest/fixtures';
import { waitFor } from '../live/live-fixtures';
import { createSampleDevices, sdkPost, type SampleDevice } from '../rest/fixtures';

const METRICS_TOKEN = 'metrics-token-0123456789';
const T0 = 1_767_225_600_000;
let t: TestApp;
let open: TestApp;
let tenant: Tenant;
let device: SampleDevice;
const clients: Client[] = [];

beforeAll(async () => {
  // Rollups of every point, merged only when the test says so (the periodic merge is an hour away).
  t = await startTestApp({ METRICS_TOKEN, POLICY_DEFAULT_STORAGE: 'RAW:7305,ROLLUP_1M:30', ROLLUP_APPLY_INTERVAL_MS: '3600000' });
  open = await startTestApp({ ROLLUP_APPLY_INTERVAL_MS: '3600000' }, { tdb: t.tdb });
  tenant = await t.tenant('o-metrics');
  device = (await createSampleDevices(t, tenant, 'pkMetrics', ['devMetrics01']))[0]!;
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await open.app.stop();
  await t.close();
});

/** Parses the Prometheus text format into `name{labels}` -> value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function scrape(): Promise<Map<string, number>> {
  const r = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await r.text());
}

const value = (m: Map<string, number>, key: string) => m.get(key) ?? 0;

describe('GET /metrics', () => {
  it('moves the ingest, latency and live figures with real GraphQL, REST, query and subscription traffic', async () => {
    const before = await scrape();
    expect(before.has('process_cpu_user_seconds_total')).toBe(true);
    expect(before.has('nodejs_eventloop_lag_seconds')).toBe(true);

    // A subscription, open while the values arrive.
    const client = createClient({ url: `${t.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { accessToken: tenant.token }, retryAttempts: 0 });
    clients.push(client);
    let received = 0;
    const stop = client.subscribe({ query: 'subscription { measurePointsLive { offset } }' }, { next: () => void received++, error: () => {}, complete: () => {} });
    let live = await scrape();
    for (let i = 0; i < 50 && value(live, 'tributary_live_subscribers') < 1; i++) live = await scrape();
    expect(value(live, 'tributary_live_subscribers')).toBe(1);

    // GraphQL ingest: two values stored, then a PARTIAL call with one refused item.
    const ok = await t.gql(tenant.token, POST_POINTS, { items: [{ assetId: device.assetId, time: T0, values: { IntMeasurePoint1: 1, DoubleMeasurePoint1: 2.5 } }] });
    expect(ok.errors).toBeUndefined();
    const partial = await t.gql(tenant.token, POST_POINTS, {
      mode: 'PARTIAL',
      items: [
        { assetId: device.assetId, time: T0 + 1, values: { IntMeasurePoint1: 2 } },
        { assetId: device.assetId, time: T0 + 1, values: { IntMeasurePoint1: 'not an int' } },
      ],
    });
    expect(partial.data?.['postMeasurePoints']).toMatchObject({ accepted: 1, rejected: 1 });
    // ALL_OR_NOTHING refused: both of its values count as rejected.
    const refused = await t.gql(tenant.token, POST_POINTS, { items: [{ assetId: device.assetId, time: T0 + 2, values: { IntMeasurePoint1: 'x', DoubleMeasurePoint1: 1 } }] });
    expect(refused.errors?.[0]?.extensions?.code).toBe('MODEL_VIOLATION');
    // REST ingest through the EnOS integration route.
    const rest = await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: device.assetId, time: T0 + 3, measurepoints: { IntMeasurePoint1: 7 } }]);
    expect(rest.status).toBe(200);
    // A query.
    const q = await t.gql(tenant.token, 'query { devices(first: 5) { totalCount } }');
    expect(q.errors).toBeUndefined();
    await waitFor(() => received >= 3, 'three live batches');
    stop();

    const after = await scrape();
    const delta = (key: string) => value(after, key) - value(before, key);
    expect(delta('tributary_ingest_requests_total{transport="graphql",kind="points",code="OK"}')).toBe(2);
    expect(delta('tributary_ingest_requests_total{transport="graphql",kind="points",code="MODEL_VIOLATION"}')).toBe(1);
    expect(delta('tributary_ingest_requests_total{transport="rest",kind="points",code="OK"}')).toBe(1);
    expect(delta('tributary_ingest_values_accepted_total{transport="graphql",kind="points"}')).toBe(3);
    expect(delta('tributary_ingest_values_accepted_total{transport="rest",kind="points"}')).toBe(1);
    expect(delta('tributary_ingest_values_rejected_total{transport="graphql",kind="points",code="TYPE_MISMATCH"}')).toBe(3);
    expect(delta('tributary_graphql_operation_duration_seconds_count{transport="graphql",type="mutation",operation="postMeasurePoints",outcome="ok"}')).toBe(2);
    expect(delta('tributary_graphql_operation_duration_seconds_count{transport="graphql",type="mutation",operation="postMeasurePoints",outcome="error"}')).toBe(1);
    expect(delta('tributary_graphql_operation_duration_seconds_count{transport="graphql",type="query",operation="devices",outcome="ok"}')).toBe(1);
    expect(delta('tributary_graphql_operation_duration_seconds_count{transport="rest",type="mutation",operation="postMeasurePoints",outcome="ok"}')).toBe(1);
    expect(delta('tributary_http_request_duration_seconds_count{route="/graphql",method="POST",status="200"}')).toBeGreaterThanOrEqual(4);
    expect(delta('tributary_http_request_duration_seconds_count{route="/connect-service/v2.1/integration",method="POST",status="200"}')).toBe(1);
    expect(delta('tributary_http_request_duration_seconds_count{route="/metrics",method="GET",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(delta('tributary_live_messages_delivered_total')).toBeGreaterThanOrEqual(3);
    expect(after.has('tributary_ingest_queue_batches')).toBe(true);
    expect(after.has('tributary_ingest_transactions_in_flight')).toBe(true);
    expect(after.has('tributary_db_queries_in_flight')).toBe(true);
    expect(value(after, 'tributary_db_pool_max_connections')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'tributary_http_requests_in_flight')).toBe(1); // this scrape
    expect(after.has('tributary_admission_in_flight{kind="requests"}')).toBe(true); // /metrics itself is not admitted: it never waits
    expect(after.has('tributary_admission_queued{kind="requests"}')).toBe(true);
    expect(after.has('tributary_admission_in_flight{kind="ingest_values"}')).toBe(true);
    expect(after.has('tributary_admission_rejected_total{kind="ingest_values"}')).toBe(true);
    // The ingest calls left rollup deltas in the journal; a merge empties it.
    expect(value(after, 'tributary_rollup_pending_rows{level="ROLLUP_1M"}')).toBeGreaterThan(0);
    await mergeJournal(t.db);
    expect((await scrape()).has('tributary_rollup_pending_rows{level="ROLLUP_1M"}')).toBe(false);
    const closed = await (async () => {
      for (let i = 0; i < 50; i++) {
        const m = await scrape();
        if (value(m, 'tributary_live_subscribers') === 0) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      return scrape();
    })();
    expect(value(closed, 'tributary_live_subscribers')).toBe(0);
  });

  it('requires the bearer token when METRICS_TOKEN is set', async () => {
    const none = await fetch(`${t.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-9876543210' } });
    expect(wrong.status).toBe(401);
    const serviceToken = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${tenant.token}` } });
    expect(serviceToken.status).toBe(401);
    const right = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('tributary_ingest_requests_total');
  });

  it('is open without METRICS_TOKEN, and each instance counts only its own traffic', async () => {
    const r = await fetch(`${open.url}/metrics`);
    expect(r.status).toBe(200);
    const m = parseMetrics(await r.text());
    expect(value(m, 'tributary_ingest_requests_total{transport="graphql",kind="points",code="OK"}')).toBe(0);
    expect((await fetch(`${open.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('counts the runs of the periodic rollup merge', async () => {
    // Started last: its merges must not empty the journal under the first test.
    const merging = await startTestApp({ ROLLUP_APPLY_INTERVAL_MS: '100' }, { tdb: t.tdb });
    after(() => merging.app.stop());
    const runs = async () => parseMetrics(await (await fetch(`${merging.url}/metrics`)).text());
    let m = await runs();
    for (let i = 0; i < 100 && value(m, 'tributary_task_runs_total{task="rollup_merge",outcome="ok"}') < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      m = await runs();
    }
    expect(value(m, 'tributary_task_runs_total{task="rollup_merge",outcome="ok"}')).toBeGreaterThanOrEqual(2);
    expect(value(m, 'tributary_task_runs_total{task="rollup_merge",outcome="failed"}')).toBe(0);
    expect(value(m, 'tributary_task_last_success_timestamp_seconds{task="rollup_merge"}')).toBeGreaterThan(Date.now() / 1000 - 60);
  });
});
