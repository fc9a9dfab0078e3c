import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveOf } from '../../src/live/service';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { batchOf, connectRaw, createFleet, ingestBatch, liveQuery, point, pointKeys, waitFor, type Fleet, type RawClient } from './live-fixtures';

let t: TestApp;
let fleet: Fleet;
let other: Fleet;
let token: string;
const clients: RawClient[] = [];
const T0 = 1_767_225_600_000;

async function client(tok = token): Promise<RawClient> {
  const c = await connectRaw(t.url, tok);
  clients.push(c);
  return c;
}

async function settle(n: number) {
  await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers >= n, `${n} subscribers`);
}

beforeAll(async () => {
  t = await startTestApp();
  token = (await t.tenant('o-live')).token;
  await t.tenant('o-other');
  fleet = await createFleet(t.db, 'o-live', 'sx', 2, 2);
  other = await createFleet(t.db, 'o-other', 'so', 1, 1);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t.close();
});

describe('filtered live streams', () => {
  it('delivers each committed batch as one message carrying every selected value and its offset', async () => {
    const c = await client();
    const s = c.subscribe('1', liveQuery('measurePointsLive'));
    await settle(1);
    const [d0, d1] = fleet.devices;
    await ingestBatch(t.app.deps, batchOf(fleet, { points: [point(fleet, d0!, 'temp', T0, 1.5), point(fleet, d1!, 'temp', T0, 2.5), point(fleet, d1!, 'state', T0, 'ok')] }));
    await waitFor(() => s.batches.length === 1, 'one batch');
    const b = s.batches[0]!;
    expect(b.offset).toMatch(/^\d+$/);
    expect(b.channel).toBe('REALTIME');
    expect(b.partitions).toBeNull();
    expect(b.points).toHaveLength(3);
    expect(b.points[0]).toEqual({ assetId: d0!.assetId, productKey: d0!.productKey, deviceKey: d0!.deviceKey, modelId: fleet.modelIdentifier, identifier: 'temp', time: T0, value: 1.5, quality: null });
    c.complete('1');
  });

  it('applies assetIds, productKey + deviceKey, products, models, identifiers and channel together', async () => {
    const [d0, d1, d2, d3] = fleet.devices;
    const c = await client();
    const byAsset = c.subscribe('a', liveQuery('measurePointsLive'), { filter: { assetIds: [d0!.assetId] } });
    const byKeys = c.subscribe('k', liveQuery('measurePointsLive'), { filter: { devices: [{ productKey: d3!.productKey, deviceKey: d3!.deviceKey }] } });
    const byProduct = c.subscribe('p', liveQuery('measurePointsLive'), { filter: { productKeys: [fleet.productKeys[1]] } });
    const byModelAndPoint = c.subscribe('m', liveQuery('measurePointsLive'), { filter: { modelIds: [fleet.modelIdentifier], identifiers: ['state'] } });
    const offline = c.subscribe('o', liveQuery('measurePointsLive'), { filter: { channel: 'OFFLINE', assetIds: [d0!.assetId, d2!.assetId] } });
    await settle(5);
    const points = fleet.devices.flatMap((d, i) => [point(fleet, d, 'temp', T0 + 1, i), point(fleet, d, 'state', T0 + 1, `s${i}`)]);
    await ingestBatch(t.app.deps, batchOf(fleet, { points }));
    await ingestBatch(t.app.deps, batchOf(fleet, { points: [point(fleet, d2!, 'temp', T0 + 2, 99)] }, 'OFFLINE'));
    await waitFor(() => offline.batches.length === 1 && byProduct.batches.length === 2, 'filtered batches');
    expect(pointKeys(byAsset.batches)).toEqual([`${d0!.assetId}:temp=0`, `${d0!.assetId}:state=s0`]);
    expect(pointKeys(byKeys.batches)).toEqual([`${d3!.assetId}:temp=3`, `${d3!.assetId}:state=s3`]);
    expect(pointKeys(byProduct.batches)).toEqual([`${d2!.assetId}:temp=2`, `${d2!.assetId}:state=s2`, `${d3!.assetId}:temp=3`, `${d3!.assetId}:state=s3`, `${d2!.assetId}:temp=99`]);
    expect(pointKeys(byModelAndPoint.batches)).toEqual([0, 1, 2, 3].map((i) => `${fleet.devices[i]!.assetId}:state=s${i}`));
    expect(offline.batches[0]!.channel).toBe('OFFLINE');
    expect(pointKeys(offline.batches)).toEqual([`${d2!.assetId}:temp=99`]);
    c.close();
  });

  it('streams attributes, events and files on their own subscriptions', async () => {
    const d0 = fleet.devices[0]!;
    const c = await client();
    const attrs = c.subscribe('a', liveQuery('attributesLive'));
    const events = c.subscribe('e', liveQuery('eventsLive'), { filter: { identifiers: ['alarm'] } });
    const files = c.subscribe('f', liveQuery('fileChangesLive'));
    const pts = c.subscribe('p', liveQuery('measurePointsLive'));
    await settle(4);
    const dev = { deviceId: d0.id, assetId: d0.assetId, productKey: d0.productKey, modelId: d0.modelId };
    await ingestBatch(
      t.app.deps,
      batchOf(fleet, {
        attributes: [{ ...dev, attributeId: fleet.featureIds.get('label')!, identifier: 'label', time: T0, value: 'north' }],
        events: [{ ...dev, eventId: fleet.featureIds.get('alarm')!, identifier: 'alarm', level: 'WARN', time: T0, params: { code: 7 } }],
        files: [{ ...dev, fileId: 1, uri: 'enos-connect://f/1', featureId: null, fileName: 'a.bin', sizeBytes: 3 }],
      }),
    );
    await waitFor(() => attrs.batches.length === 1 && events.batches.length === 1 && files.batches.length === 1, 'one batch per kind');
    expect(attrs.batches[0]!.attributes).toEqual([{ assetId: d0.assetId, identifier: 'label', value: 'north' }]);
    expect(events.batches[0]!.events).toEqual([{ assetId: d0.assetId, identifier: 'alarm', level: 'WARN', params: { code: 7 } }]);
    expect(files.batches[0]!.files).toEqual([{ assetId: d0.assetId, uri: 'enos-connect://f/1', op: 'CREATED' }]);
    expect(attrs.batches[0]!.points).toEqual([]);
    expect(pts.batches).toEqual([]);
    c.close();
  });

  it('never shows another organisation data, and refuses its devices as NOT_FOUND', async () => {
    const c = await client();
    const all = c.subscribe('all', liveQuery('measurePointsLive'));
    const foreign = c.subscribe('x', liveQuery('measurePointsLive'), { filter: { assetIds: [other.devices[0]!.assetId] } });
    const foreignModel = c.subscribe('y', liveQuery('measurePointsLive'), { filter: { modelIds: [other.modelIdentifier] } });
    await waitFor(() => foreign.errors.length > 0 && foreignModel.errors.length > 0, 'errors');
    expect(foreign.errors[0]!.extensions?.code).toBe('NOT_FOUND');
    expect(foreignModel.errors[0]!.extensions?.code).toBe('NOT_FOUND');
    await settle(1);
    await ingestBatch(t.app.deps, batchOf(other, { points: [point(other, other.devices[0]!, 'temp', T0, 5)] }));
    await ingestBatch(t.app.deps, batchOf(fleet, { points: [point(fleet, fleet.devices[0]!, 'temp', T0, 6)] }));
    await waitFor(() => all.batches.length === 1, 'own batch');
    expect(pointKeys(all.batches)).toEqual([`${fleet.devices[0]!.assetId}:temp=6`]);
    c.close();
  });

  it('refuses a caller without ASSET_READ with FORBIDDEN, and limits a scoped grant to its devices', async () => {
    const noRead = await t.tenant('o-live', [{ permission: 'ASSET_WRITE' }]);
    const c1 = await client(noRead.token);
    const refused = c1.subscribe('1', liveQuery('measurePointsLive'));
    await waitFor(() => refused.errors.length > 0, 'error');
    expect(refused.errors[0]!.extensions?.code).toBe('FORBIDDEN');

    const [d0, d1] = fleet.devices;
    const scoped = await t.tenant('o-live', [{ permission: 'ASSET_READ', assetIds: [d0!.assetId] }]);
    const c2 = await client(scoped.token);
    const outside = c2.subscribe('o', liveQuery('measurePointsLive'), { filter: { assetIds: [d1!.assetId] } });
    await waitFor(() => outside.errors.length > 0, 'error');
    expect(outside.errors[0]!.extensions?.code).toBe('NOT_FOUND');
    const s = c2.subscribe('s', liveQuery('measurePointsLive'));
    await settle(1);
    await ingestBatch(t.app.deps, batchOf(fleet, { points: [point(fleet, d0!, 'temp', T0, 10), point(fleet, d1!, 'temp', T0, 11)] }));
    await waitFor(() => s.batches.length === 1, 'scoped batch');
    expect(pointKeys(s.batches)).toEqual([`${d0!.assetId}:temp=10`]);
  });

  it('refuses a connection without a valid token with close code 4403', async () => {
    await expect(connectRaw(t.url, 'tok-nope')).rejects.toThrow(/4403/);
  });
});
