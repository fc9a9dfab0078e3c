import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { seedFleet, type Fleet } from '../fixtures/seed-data';

const T0 = Date.UTC(2026, 0, 12);

let writer: TestApp;
let reader: TestApp;
let tenant: Tenant;
let fleet: Fleet;

const POST = `mutation($items: [PointsItemInput!]!, $channel: Channel) { postMeasurePoints(items: $items, channel: $channel) { accepted } }`;
const POST_EVENTS = `mutation($items: [EventsItemInput!]!) { postEvents(items: $items) { accepted } }`;
const POST_ATTRS = `mutation($items: [AttributesItemInput!]!) { postAttributes(items: $items) { accepted } }`;

beforeAll(async () => {
  writer = await startTestApp();
  // A second instance on the same database: what one acknowledges, the other reads.
  reader = await startTestApp({}, { tdb: writer.tdb });
  tenant = await writer.tenant('o-ryw');
  fleet = await seedFleet(writer.db, 'o-ryw', { productKey: 'ryw-inv', count: 1 });
});
afterAll(async () => {
  await reader.close();
  await writer.close();
});

describe('read your writes', () => {
  it('shows an acknowledged postMeasurePoints value to the next query, on another instance', async () => {
    const assetId = fleet.devices[0]!.assetId;
    for (let i = 0; i < 5; i++) {
      const w = await writer.gql(tenant.token, POST, { items: [{ assetId, time: T0 + i * 1000, values: { power: { value: i + 0.5, quality: 0 }, mode: `m${i}` } }] });
      expect(w.data!.postMeasurePoints.accepted).toBe(2);
      const r = await reader.gql(
        tenant.token,
        `query($a: ID!, $from: Timestamp!, $to: Timestamp!) {
          latestValues(devices: { assetIds: [$a] }, points: ["power", "mode"]) { point time value quality }
          pointHistory(devices: { assetIds: [$a] }, points: ["power"], from: $from, to: $to, order: DESC, first: 1) { edges { node { time value } } } }`,
        { a: assetId, from: T0, to: T0 + 60_000 },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data!.latestValues).toEqual([
        { point: 'power', time: T0 + i * 1000, value: i + 0.5, quality: 0 },
        { point: 'mode', time: T0 + i * 1000, value: `m${i}`, quality: null },
      ]);
      expect(r.data!.pointHistory.edges[0].node).toEqual({ time: T0 + i * 1000, value: i + 0.5 });
    }
  });

  it('stores OFFLINE points in history without moving latest values', async () => {
    const assetId = fleet.devices[0]!.assetId;
    await writer.gql(tenant.token, POST, { items: [{ assetId, time: T0 + 50_000, values: { power: { value: -7, quality: 3 } } }], channel: 'OFFLINE' });
    const r = await reader.gql(
      tenant.token,
      `query($a: ID!) { latestValues(devices: { assetIds: [$a] }, points: ["power"]) { value }
        pointAggregates(devices: { assetIds: [$a] }, aggregates: [{ point: "power", function: LAST }, { point: "power", function: COUNT }], from: ${T0}, to: ${T0 + 60_000}, interval: "1 minute") { columns { values } } }`,
      { a: assetId },
    );
    expect(r.data!.latestValues).toEqual([{ value: 4.5 }]);
    expect(r.data!.pointAggregates[0].columns.map((c: { values: number[] }) => c.values)).toEqual([[-7], [6]]);
  });

  it('shows acknowledged events and attributes to the next query', async () => {
    const assetId = fleet.devices[0]!.assetId;
    expect((await writer.gql(tenant.token, POST_EVENTS, { items: [{ assetId, time: T0 + 5000, events: { fault: { code: 3 } } }] })).errors).toBeUndefined();
    expect((await writer.gql(tenant.token, POST_ATTRS, { items: [{ assetId, values: { location: 'Roof' } }] })).errors).toBeUndefined();
    const r = await reader.gql(
      tenant.token,
      `query($a: ID!) { eventHistory(devices: { assetIds: [$a] }, from: ${T0}, to: ${T0 + 60_000}) { edges { node { event level params } } }
        attributeValues(device: { assetId: $a }, attributes: ["location"]) { value }
        attributeHistory(device: { assetId: $a }, attribute: "location") { edges { node { value source } } } }`,
      { a: assetId },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.eventHistory.edges).toEqual([{ node: { event: 'fault', level: 'ERROR', params: { code: 3 } } }]);
    expect(r.data!.attributeValues).toEqual([{ value: 'Roof' }]);
    expect(r.data!.attributeHistory.edges).toEqual([{ node: { value: 'Roof', source: 'ingest' } }]);
  });
});
