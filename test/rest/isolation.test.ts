import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { json, rawRequest, sdkFileName, type Envelope, type RawResponse } from './enos-wire';
import { createSampleDevices, sdkPost, type SampleDevice } from './fixtures';

/*
 * The isolation matrix of the shim's routes: another organisation's service account, a
 * service account without the permission, and one scoped to another product.
 */

let t: TestApp;
let owner: Tenant;
let stranger: Tenant;
let readOnly: Tenant;
let writeOnly: Tenant;
let scoped: Tenant;
let dev: SampleDevice;
let uri: string;
const T = 1795645363152;
const FILE = Buffer.from('isolated bytes');

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.tenant('o-iso-a');
  stranger = await t.tenant('o-iso-b');
  readOnly = await t.tenant('o-iso-a', [{ permission: 'ASSET_READ' }]);
  writeOnly = await t.tenant('o-iso-a', [{ permission: 'ASSET_WRITE' }]);
  dev = (await createSampleDevices(t, owner, 'pkIsoA', ['devIso01']))[0]!;
  await createSampleDevices(t, owner, 'pkIsoOther', []);
  scoped = await t.tenant('o-iso-a', [
    { permission: 'ASSET_READ', productKeys: ['pkIsoOther'] },
    { permission: 'ASSET_WRITE', productKeys: ['pkIsoOther'] },
  ]);
  await createSampleDevices(t, stranger, 'pkIsoB', ['devIso01']);
  const name = sdkFileName();
  const r = await sdkPost(t, owner, 'postMeasurepoint', [{ assetId: dev.assetId, time: T, measurepoints: { FileMeasurePoint1: `local://${name}`, IntMeasurePoint1: 1 } }], [{ name, content: FILE, featureId: 'FileMeasurePoint1' }]);
  uri = json<Envelope>(r).data.uriInfoList[0].fileUri;
});
afterAll(() => t.close());

const env = (r: RawResponse) => json<Envelope>(r);

function download(who: Tenant, org: string): Promise<RawResponse> {
  return rawRequest(t.url, { target: `/connect-service/v2.1/files?action=download&orgId=${org}&fileUri=${uri}&category=feature&assetId=${dev.assetId}`, headers: [['apim-accesstoken', who.token]] });
}
function remove(who: Tenant, org: string): Promise<RawResponse> {
  return rawRequest(t.url, { method: 'POST', target: `/connect-service/v2.1/files?action=delete&orgId=${org}&fileUri=${uri}&assetId=${dev.assetId}`, headers: [['apim-accesstoken', who.token], ['Content-Length', '0']] });
}
async function readJson(who: Tenant, org: string, path: string, body: unknown) {
  const res = await fetch(`${t.url}${path}${path.includes('?') ? '&' : '?'}orgId=${org}`, { method: 'POST', headers: { 'apim-accesstoken': who.token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Envelope };
}
const raw = { assetIds: '', pointIds: 'IntMeasurePoint1', startTime: '2026-01-01T00:00:00Z', endTime: '2027-01-01T00:00:00Z' };

async function expectFileIntact() {
  const r = await download(owner, 'o-iso-a');
  expect(r.status).toBe(200);
  expect(r.body.equals(FILE)).toBe(true);
}

describe('another organisation', () => {
  it('cannot post to the device, whichever orgId it names', async () => {
    for (const org of ['o-iso-a', 'o-iso-b']) {
      const r = await sdkPost(t, stranger, 'postMeasurepoint', [{ assetId: dev.assetId, time: T + 1, measurepoints: { IntMeasurePoint1: 2 } }], [], { query: org });
      expect(env(r).code).toBe(org === 'o-iso-a' ? 99404 : 1257);
    }
    for (const action of ['postAttribute', 'postEvent']) {
      const params = action === 'postAttribute' ? [{ assetId: dev.assetId, attributes: { IntAttribute1: 1 } }] : [{ assetId: dev.assetId, time: T, events: { IntEvent1: { struct2: 1 } } }];
      expect(env(await sdkPost(t, stranger, action, params)).code).toBe(1257);
    }
  });

  it('cannot download or delete the file, and learns nothing from the answer', async () => {
    for (const org of ['o-iso-a', 'o-iso-b']) {
      const d = await download(stranger, org);
      expect(d.status).toBe(404);
      expect(env(d)).toMatchObject({ code: 99404, data: null });
      const x = await remove(stranger, org);
      expect(x.status).toBe(200);
      expect(env(x)).toMatchObject({ code: 99404, data: null });
    }
    await expectFileIntact();
  });

  it('cannot read the device through queryLatest or the TSDB routes', async () => {
    for (const org of ['o-iso-a', 'o-iso-b']) {
      expect((await readJson(stranger, org, `/connect-service/v2.1/measurepoints?action=queryLatest&assetId=${dev.assetId}`, {})).body.code).toBe(99404);
      for (const path of ['raw', 'latest']) expect((await readJson(stranger, org, `/tsdb-service/v2.1/${path}`, { ...raw, assetIds: dev.assetId })).body.code).toBe(80401);
      expect((await readJson(stranger, org, '/tsdb-service/v2.1/ai-normalized', { ...raw, assetIds: dev.assetId, pointIdsWithLogic: 'avg(IntMeasurePoint1)', interval: 10 })).body.code).toBe(80401);
    }
  });
});

describe('missing permissions in the same organisation', () => {
  it('refuses posts and deletes without ASSET_WRITE with 99403', async () => {
    expect(env(await sdkPost(t, readOnly, 'postMeasurepoint', [{ assetId: dev.assetId, time: T + 2, measurepoints: { IntMeasurePoint1: 3 } }])).code).toBe(99403);
    expect(env(await remove(readOnly, 'o-iso-a')).code).toBe(99403);
    await expectFileIntact();
  });

  it('refuses downloads and reads without ASSET_READ (403 / 99403 / 80401)', async () => {
    const d = await download(writeOnly, 'o-iso-a');
    expect(d.status).toBe(403);
    expect(env(d).code).toBe(99403);
    expect((await readJson(writeOnly, 'o-iso-a', `/connect-service/v2.1/measurepoints?action=queryLatest&assetId=${dev.assetId}`, {})).body.code).toBe(99403);
    expect((await readJson(writeOnly, 'o-iso-a', '/tsdb-service/v2.1/raw', { ...raw, assetIds: dev.assetId })).body.code).toBe(80401);
  });

  it('treats a device outside a scoped grant as unknown', async () => {
    expect(env(await sdkPost(t, scoped, 'postMeasurepoint', [{ assetId: dev.assetId, time: T + 3, measurepoints: { IntMeasurePoint1: 4 } }])).code).toBe(1257);
    const d = await download(scoped, 'o-iso-a');
    expect(d.status).toBe(404);
    expect(env(await remove(scoped, 'o-iso-a')).code).toBe(99404);
    await expectFileIntact();
  });

  it('lets the owner delete the file afterwards', async () => {
    expect(env(await remove(owner, 'o-iso-a'))).toMatchObject({ code: 0, data: null });
    expect((await download(owner, 'o-iso-a')).status).toBe(404);
  });
});
