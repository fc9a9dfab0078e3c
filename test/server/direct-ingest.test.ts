import { buildSchema } from '../../src/graphql/schema';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createResultSerialiser, formatGraphQLError } from '../../src/server/apollo';
import { createDirectIngest } from '../../src/server/direct-ingest';
import { createLogger } from '../../src/log';
import { setupModelDevices } from '../fixtures/devices';
import { json } from '../rest/enos-wire';
import { createSampleDevices, sdkPost } from '../rest/fixtures';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

// Ingest mutations in JSON run without Apollo's request pipeline (src/server/direct-ingest.ts).
// A client must not be able to tell: the same request answered by Apollo (a body with
// `extensions`, which the direct path leaves to it) gets the same status, headers and body.

const MODEL = { identifier: 'direct-meter', name: 'Meter', measurePoints: [{ identifier: 'v', name: 'v', type: { dataType: 'DOUBLE' } }, { identifier: 's', name: 's', type: { dataType: 'STRING' } }] };
const POST = 'mutation Post($items: [PointsItemInput!]!) { postMeasurePoints(items: $items) { accepted rejected errors { index code reason } } }';
const T0 = Date.UTC(2026, 3, 1);

let t: TestApp;
let tenant: Tenant;
let reader: Tenant;
let assetId: string;
let time = T0;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-direct');
  reader = await t.tenant('o-direct', [{ permission: 'ASSET_READ' }]);
  assetId = (await setupModelDevices(t, tenant, MODEL, 'pk-direct', 1))[0]!;
});
afterAll(() => t.close());

interface Answer {
  status: number;
  contentType: string | null;
  retryAfter: string | null;
  /** The body as sent (the same text, not only the same JSON). */
  text: string;
  body: unknown;
}

async function post(token: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), text, body: JSON.parse(text) };
}

/** The same request, answered directly and by Apollo; `vars` gets a fresh time for each. */
async function both(token: string, vars: (time: number) => Record<string, unknown>, headers: Record<string, string> = {}): Promise<[Answer, Answer]> {
  const direct = await post(token, { query: POST, variables: vars((time += 1000)) }, headers);
  const apollo = await post(token, { query: POST, variables: vars((time += 1000)), extensions: {} }, headers);
  return [direct, apollo];
}

const item = (values: Record<string, unknown>) => (time: number) => ({ items: [{ assetId, time, values }] });

describe('ingest mutations without Apollo', () => {
  it('answers a stored point exactly as Apollo does', async () => {
    const viaApollo = vi.spyOn(t.app.apollo, 'executeHTTPGraphQLRequest');
    await post(tenant.token, { query: POST, variables: item({ v: 1 })((time += 1000)) });
    expect(viaApollo).not.toHaveBeenCalled();
    viaApollo.mockRestore();

    const [direct, apollo] = await both(tenant.token, item({ v: 1.5 }));
    expect(direct).toMatchObject({ status: 200, contentType: 'application/json; charset=utf-8', retryAfter: null, body: { data: { postMeasurePoints: { accepted: 1, rejected: 0, errors: [] } } } });
    expect(apollo).toEqual(direct);
  });

  it('answers a value the model refuses, a caller without the permission and a device it does not know as Apollo does', async () => {
    const refused = await both(tenant.token, item({ v: 'not a number' }));
    expect((refused[0].body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('MODEL_VIOLATION');
    expect(refused[1]).toEqual(refused[0]);

    const forbidden = await both(reader.token, item({ v: 1 }));
    expect((forbidden[0].body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
    expect(forbidden[1]).toEqual(forbidden[0]);

    const unknown = await both(tenant.token, (time) => ({ items: [{ assetId: 'no-such-device', time, values: { v: 1 } }] }));
    expect(unknown[1]).toEqual(unknown[0]);
  });

  it('leaves request errors to Apollo: variables that do not coerce, input the guard refuses, an unknown token', async () => {
    const coercion = await both(tenant.token, () => ({ items: [{ assetId, values: { v: 1 } }] }));
    expect((coercion[0].body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect(coercion[1]).toEqual(coercion[0]);

    const guarded = await both(tenant.token, item({ s: 'nul \u0000 inside' }));
    expect((guarded[0].body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect(guarded[1]).toEqual(guarded[0]);

    const anonymous = await both('not-a-token', item({ v: 1 }));
    expect(anonymous[0].status).toBe(401);
    expect(anonymous[1]).toEqual(anonymous[0]);
  });

  it('answers in the media type a client asks for, as Apollo does', async () => {
    for (const accept of ['*/*', 'application/json', 'application/graphql-response+json']) {
      const [direct, apollo] = await both(tenant.token, item({ v: 2 }), { accept });
      expect(apollo).toEqual(direct);
    }
  });

  it('times the operations it runs in the operations metric', async () => {
    const before = await t.app.deps.metrics.graphqlDuration.get();
    const count = (m: typeof before) => m.values.find((v) => v.metricName?.endsWith('_count') && v.labels['operation'] === 'postMeasurePoints' && v.labels['transport'] === 'graphql' && v.labels['outcome'] === 'ok')?.value ?? 0;
    await post(tenant.token, { query: POST, variables: item({ v: 3 })((time += 1000)) });
    expect(count(await t.app.deps.metrics.graphqlDuration.get())).toBe(count(before) + 1);
  });
});

describe('the EnOS REST ingest without Apollo', () => {
  it('runs its ingest mutation directly', async () => {
    const [device] = await createSampleDevices(t, tenant, 'pkDirectRest', ['devDirect01']);
    const viaApollo = vi.spyOn(t.app.apollo, 'executeOperation');
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: device!.assetId, time: (time += 1000), measurepoints: { IntMeasurePoint1: 7 } }]);
    expect(r.status).toBe(200);
    expect(json<{ code: number }>(r).code).toBe(0);
    expect(viaApollo).not.toHaveBeenCalled();
    viaApollo.mockRestore();
  });
});

describe('which requests run directly', () => {
  const limits = { maxDepth: 20, maxAliases: 30, maxCost: 100_000, maxTokens: 10_000, maxDocumentBytes: 100_000, maxResponseBytes: 1_000_000 };
  const log = createLogger('silent');
  const direct = createDirectIngest({ schema: buildSchema(), limits, formatError: formatGraphQLError(log), serialise: createResultSerialiser(limits.maxResponseBytes, log) });

  it('takes ingest mutations whose document validates, and leaves everything else to Apollo', () => {
    expect(direct.prepare({ query: POST, variables: { items: [] } })).not.toBeNull();
    expect(direct.prepare({ query: POST, operationName: 'Post' })).not.toBeNull();
    expect(direct.prepare({ query: 'mutation { postEvents(items: []) { accepted } postAttributes(items: []) { accepted } }' })).not.toBeNull();
    for (const request of [
      { query: 'query { __typename }' },
      { query: 'mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }' },
      { query: 'mutation { postMeasurePoints(items: []) { accepted } createThingModel(input: {}) { identifier } }' },
      { query: POST, extensions: { persistedQuery: { version: 1, sha256Hash: 'x' } } },
      { query: POST, operationName: 'Other' },
      { query: POST, variables: 'not an object' },
      { query: 'mutation { postMeasurePoints(items: []) { noSuchField } }' },
      { query: 'mutation { postMeasurePoints(items: [) }' },
      [{ query: POST }],
      null,
    ]) {
      expect(direct.prepare(request), JSON.stringify(request)).toBeNull();
    }
  });
});
