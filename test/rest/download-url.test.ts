import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { json, rawRequest, sdkFileName, type Envelope, type RawResponse } from './enos-wire';
import { createSampleDevices, sdkPost, type SampleDevice } from './fixtures';

/* action=getDownloadUrl as the SDK sends it, and the signed link it answers with. */

let t: TestApp;
let owner: Tenant;
let stranger: Tenant;
let scoped: Tenant;
let dev: SampleDevice;
let uri: string;
let host: string;
const ORG = 'o-links-a';
const FILE = Buffer.from('0123456789 signed link bytes');

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.tenant(ORG);
  stranger = await t.tenant('o-links-b');
  dev = (await createSampleDevices(t, owner, 'pkLinks', ['devLinks01']))[0]!;
  await createSampleDevices(t, owner, 'pkLinksOther', []);
  scoped = await t.tenant(ORG, [{ permission: 'ASSET_READ', productKeys: ['pkLinksOther'] }]);
  const name = sdkFileName();
  const r = await sdkPost(t, owner, 'postMeasurepoint', [{ assetId: dev.assetId, time: 1795645363152, measurepoints: { FileMeasurePoint1: `local://${name}` } }], [{ name, content: FILE, featureId: 'FileMeasurePoint1' }]);
  uri = json<Envelope>(r).data.uriInfoList[0].fileUri;
  host = new URL(t.url).host;
});
afterAll(() => t.close());

/** The SDK's generateGetDownloadUrlCall: query unencoded, okhttp headers. */
function getDownloadUrl(who: Tenant, org = ORG, device = `assetId=${dev.assetId}`, fileUri = uri): Promise<RawResponse> {
  return rawRequest(t.url, {
    target: `/connect-service/v2.1/files?action=getDownloadUrl&orgId=${org}&fileUri=${fileUri}&category=feature&${device}`,
    headers: [['apim-accesstoken', who.token], ['Host', host], ['Connection', 'Keep-Alive'], ['Accept-Encoding', 'gzip'], ['User-Agent', 'okhttp/3.13.1']],
  });
}

/** GETs an absolute link with no token, as a browser or the SDK's okhttp would. */
function fetchLink(link: string, range?: string): Promise<RawResponse> {
  const u = new URL(link);
  return rawRequest(`${u.protocol}//${u.host}`, { target: u.pathname + u.search, headers: range ? [['Range', range]] : [] });
}

describe('getDownloadUrl', () => {
  it('answers code 0 and a URL string, with no requestId (the SDK declares it an int)', async () => {
    const r = await getDownloadUrl(owner);
    expect(r.status).toBe(200);
    const body = json(r);
    expect(Object.keys(body).sort()).toEqual(['code', 'data', 'msg']);
    expect(body).toMatchObject({ code: 0, msg: 'OK' });
    expect(body['data']).toMatch(new RegExp(`^http://${host.replace(/[.]/g, '\\.')}/signed-files/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`));
  });

  it('answers by productKey+deviceKey too', async () => {
    const r = await getDownloadUrl(owner, ORG, 'productKey=pkLinks&deviceKey=devLinks01');
    expect(json(r)['code']).toBe(0);
  });

  it('gives a link that serves the bytes without a token, whole and ranged', async () => {
    const link = json(await getDownloadUrl(owner))['data'] as string;
    const whole = await fetchLink(link);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(FILE)).toBe(true);
    const part = await fetchLink(link, 'bytes=2-5');
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 2-5/${FILE.length}`);
    expect(part.headers['content-length']).toBe('4');
    expect(part.body.toString()).toBe('2345');
  });

  it('refuses an altered, re-signed-elsewhere or expired link with 403', async () => {
    const link = json(await getDownloadUrl(owner))['data'] as string;
    const [payload, sig] = new URL(link).pathname.slice('/signed-files/'.length).split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const altered = Buffer.from(JSON.stringify({ ...claims, f: Number(claims['f']) + 1 })).toString('base64url');
    expect((await fetchLink(`${t.url}/signed-files/${altered}.${sig}`)).status).toBe(403);
    expect((await fetchLink(`${t.url}/signed-files/${payload}.${sig.slice(1)}x`)).status).toBe(403);
    const ttlMs = t.app.deps.fileLinks.ttlS * 1000;
    const old = t.app.deps.fileLinks.sign({ purpose: 'download', orgId: ORG, ownerId: Number(claims['w']), fileId: Number(claims['f']) }, Date.now() - ttlMs - 1000);
    const expired = await fetchLink(`${t.url}/signed-files/${old.token}`);
    expect(expired.status).toBe(403);
    expect(json<Envelope>(expired)).toMatchObject({ code: 99403, msg: expect.stringMatching(/expired/) });
    // An upload link of the same file is no download link.
    const upload = t.app.deps.fileLinks.sign({ purpose: 'upload', orgId: ORG, ownerId: Number(claims['w']), fileId: Number(claims['f']) });
    expect((await fetchLink(`${t.url}/signed-files/${upload.token}`)).status).toBe(403);
  });

  it('uses PUBLIC_URL for the link when configured', async () => {
    const other = await startTestApp({ PUBLIC_URL: 'https://iot.example.com/' }, { tdb: t.tdb });
    try {
      const r = await rawRequest(other.url, { target: `/connect-service/v2.1/files?action=getDownloadUrl&orgId=${ORG}&fileUri=${uri}&category=feature&assetId=${dev.assetId}`, headers: [['apim-accesstoken', owner.token]] });
      expect(json(r)['data']).toMatch(/^https:\/\/iot\.example\.com\/signed-files\//);
    } finally {
      await other.app.stop(1000);
    }
  });
});

describe('getDownloadUrl isolation', () => {
  it('answers another organisation, a device outside the grant and a wrong device with a non-zero code and no requestId', async () => {
    const cases = [
      await getDownloadUrl(stranger),
      await getDownloadUrl(stranger, 'o-links-b'),
      await getDownloadUrl(scoped),
      await getDownloadUrl(owner, ORG, 'productKey=pkLinks&deviceKey=nope'),
    ];
    for (const r of cases) {
      const body = json(r);
      expect(body['code']).toBe(99404);
      expect(body['requestId']).toBeUndefined();
      expect(body['data']).toBeNull();
      expect(r.status).toBe(404);
    }
  });

  it('stops serving a link once the file is deleted', async () => {
    const link = json(await getDownloadUrl(owner))['data'] as string;
    const del = await rawRequest(t.url, { method: 'POST', target: `/connect-service/v2.1/files?action=delete&orgId=${ORG}&fileUri=${uri}&assetId=${dev.assetId}`, headers: [['apim-accesstoken', owner.token], ['Content-Length', '0']] });
    expect(json<Envelope>(del).code).toBe(0);
    const r = await fetchLink(link);
    expect(r.status).toBe(404);
    expect(json<Envelope>(r).code).toBe(99404);
  });
});
