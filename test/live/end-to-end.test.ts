import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LiveBatch } from '../../src/live/project';
import { liveOf } from '../../src/live/service';
import { errorCode, startTestApp, type TestApp } from '../helpers/test-app';
import { POST_ATTRIBUTES, POST_EVENTS, POST_POINTS } from '../ingest/fixtures';
import { BATCH_FIELDS, createFleet, waitFor, type Fleet } from './live-fixtures';

let t: TestApp;
let fleet: Fleet;
let token: string;
const T0 = 1_767_225_600_000;
const clients: Client[] = [];

function subscribe(query: string, variables: Record<string, unknown> = {}) {
  const client = createClient({ url: `${t.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { accessToken: token }, retryAttempts: 0 });
  clients.push(client);
  const got: { batches: LiveBatch[]; errors: unknown[] } = { batches: [], errors: [] };
  const stop = client.subscribe<Record<string, LiveBatch>>(
    { query, variables },
    {
      next: (r) => {
        if (r.errors) got.errors.push(...r.errors);
        for (const v of Object.values(r.data ?? {})) got.batches.push(v);
      },
      error: (e) => got.errors.push(e),
      complete: () => {},
    },
  );
  return { got, stop };
}

beforeAll(async () => {
  t = await startTestApp();
  token = (await t.tenant('o-e2e')).token;
  fleet = await createFleet(t.db, 'o-e2e', 'ee', 1, 2);
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await t.close();
});

describe('end to end with the graphql-ws client and the ingest mutations', () => {
  it('delivers values posted with postMeasurePoints, postAttributes and postEvents, and nothing for a refused request', async () => {
    const [d0, d1] = fleet.devices;
    const points = subscribe(`subscription { measurePointsLive(filter: { assetIds: ["${d0!.assetId}"] }) { ${BATCH_FIELDS} } }`);
    const attrs = subscribe(`subscription { attributesLive { ${BATCH_FIELDS} } }`);
    const events = subscribe(`subscription { eventsLive { ${BATCH_FIELDS} } }`);
    await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers === 3, 'three subscribers');
    const r = await t.gql(token, POST_POINTS, { items: [{ assetId: d0!.assetId, time: T0, values: { temp: 21.5, state: 'on' } }, { assetId: d1!.assetId, time: T0, values: { temp: 3 } }] });
    expect(r.errors).toBeUndefined();
    const refused = await t.gql(token, POST_POINTS, { items: [{ assetId: d0!.assetId, time: T0 + 1, values: { temp: 'not a number' } }] });
    expect(errorCode(refused)).toBeDefined();
    await t.gql(token, POST_ATTRIBUTES, { items: [{ assetId: d1!.assetId, values: { label: 'east' } }] });
    await t.gql(token, POST_EVENTS, { items: [{ assetId: d0!.assetId, time: T0, events: { alarm: { code: 3 } } }] });
    await waitFor(() => points.got.batches.length === 1 && attrs.got.batches.length === 1 && events.got.batches.length === 1, 'one message per subscription');
    await new Promise((res) => setTimeout(res, 200));
    expect(points.got.batches).toHaveLength(1);
    expect(points.got.batches[0]!.points.map((p) => [p.identifier, p.value])).toEqual([
      ['temp', 21.5],
      ['state', 'on'],
    ]);
    expect(attrs.got.batches[0]!.attributes).toEqual([{ assetId: d1!.assetId, identifier: 'label', value: 'east' }]);
    expect(events.got.batches[0]!.events).toEqual([{ assetId: d0!.assetId, identifier: 'alarm', level: 'WARN', params: { code: 3 } }]);
    points.stop();
    attrs.stop();
    events.stop();
  });

  it('resumes after a disconnect from the last offset with the graphql-ws client', async () => {
    const d0 = fleet.devices[0]!;
    const first = subscribe(`subscription { measurePointsLive { ${BATCH_FIELDS} } }`);
    await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers === 1, 'subscriber');
    await t.gql(token, POST_POINTS, { items: [{ assetId: d0.assetId, time: T0 + 10, values: { temp: 1 } }] });
    await waitFor(() => first.got.batches.length === 1, 'first');
    first.stop();
    await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers === 0, 'disconnected');
    for (const v of [2, 3]) await t.gql(token, POST_POINTS, { items: [{ assetId: d0.assetId, time: T0 + 10 + v, values: { temp: v } }] });
    const resumed = subscribe(`subscription ($from: String) { measurePointsLive(fromOffset: $from) { ${BATCH_FIELDS} } }`, { from: first.got.batches[0]!.offset });
    await waitFor(() => resumed.got.batches.length === 2, 'the missed values');
    expect(resumed.got.batches.map((b) => b.points[0]!.value)).toEqual([2, 3]);
    resumed.stop();
  });
});
