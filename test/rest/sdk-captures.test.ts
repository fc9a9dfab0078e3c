import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/storage/db';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { buildMultipart, chunkedBody, json, md5Hex, rawRequest, sdkFilePart, sdkMessagePart, type Envelope, type RawResponse } from './enos-wire';
import { createSampleDevices, type SampleDevice } from './fixtures';

/*
 * The requests of enos-wire-captures.md, rebuilt byte for byte: request line with the query
 * string unencoded, header order and casing of okhttp 3.13, multipart layout with per-part
 * Content-Length, generated file names, string ids, Content-Length and chunked framing.
 */

const ORG = 'o15000000000001';
const URI_CHARS = /^enos-connect:\/\/[A-Za-z0-9._~:/-]+$/;
let t: TestApp;
let tenant: Tenant;
let dev001: SampleDevice;
let asset0001: SampleDevice;
let host: string;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant(ORG);
  [dev001, asset0001] = (await createSampleDevices(t, tenant, 'pkAbc123', ['dev001', 'Asset0001'])) as [SampleDevice, SampleDevice];
  host = new URL(t.url).host;
});
afterAll(() => t.close());

function okhttpPost(target: string, boundary: string, body: Buffer, chunked: boolean): Promise<RawResponse> {
  return rawRequest(t.url, {
    method: 'POST',
    target,
    headers: [
      ['apim-accesstoken', tenant.token],
      ['Content-Type', `multipart/form-data; boundary=${boundary}`],
      chunked ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(body.length)],
      ['Host', host],
      ['Connection', 'Keep-Alive'],
      ['Accept-Encoding', 'gzip'],
      ['User-Agent', 'okhttp/3.13.1'],
    ],
    body: chunked ? chunkedBody(body, 8192) : body,
  });
}

function okhttpGet(target: string, range?: string): Promise<RawResponse> {
  return rawRequest(t.url, {
    target,
    headers: [...(range ? [['Range', range] as const] : []), ['apim-accesstoken', tenant.token], ['Host', host], ['Connection', 'Keep-Alive'], ...(range ? [] : [['Accept-Encoding', 'gzip'] as const]), ['User-Agent', 'okhttp/3.13.1']],
  });
}

function expectSuccess(r: RawResponse): Envelope {
  expect(r.status).toBe(200);
  const body = json<Envelope>(r);
  expect(body).toMatchObject({ code: 0, msg: 'OK' });
  expect(body.requestId).toEqual(expect.any(String));
  expect(body.data === null || (typeof body.data === 'object' && !Array.isArray(body.data))).toBe(true);
  return body;
}

// #5: the file content, as in the capture (43 bytes).
const FILE_A = Buffer.from('hello from device 1795645362896\nsecond line', 'utf8');
// #6: 300 binary bytes, (3 + 7 i) mod 256 as the capture's head shows.
const FILE_B = Buffer.from(Array.from({ length: 300 }, (_, i) => (3 + 7 * i) % 256));
let uriA = '';
let uriB = '';

describe('captured SDK requests', () => {
  it('#5 postMeasurepoint by productKey+deviceKey with a FILE point (Content-Length framing) returns the file URI in uriInfoList', async () => {
    const boundary = 'b8b89a97-7880-40c2-9e1a-f1699cfe4714';
    const message = `{"method":"integration.measurepoint.post","files":{"mKPHRSLTYaI.txt":{"fileName":"mKPHRSLTYaI.txt","deviceKey":"dev001","fileExt":".txt","productKey":"pkAbc123","featureId":"FileMeasurePoint1","originalFilename":"sample-a.txt","fileLength":"43","md5":"${md5Hex(FILE_A)}"}},"id":"1","params":[{"measurepoints":{"FileMeasurePoint1":"local://mKPHRSLTYaI.txt","IntMeasurePoint1":123},"deviceKey":"dev001","time":1795645363152,"productKey":"pkAbc123"}],"version":"1.1","isRealtimeIntegration":true}`;
    const body = buildMultipart(boundary, [sdkMessagePart(message), sdkFilePart('mKPHRSLTYaI.txt', FILE_A)]);
    // Same framing as the capture: 939 bytes there with a 507-byte message; ours differs only by the message length.
    expect(body.length - Buffer.byteLength(message)).toBe(939 - 507);
    const r = await okhttpPost(`/connect-service/v2.1/integration?action=postMeasurepoint&orgId=${ORG}`, boundary, body, false);
    const env = expectSuccess(r);
    expect(env.data.uriInfoList).toHaveLength(1);
    expect(env.data.uriInfoList[0].filename).toBe('mKPHRSLTYaI.txt');
    uriA = env.data.uriInfoList[0].fileUri;
    expect(uriA).toMatch(URI_CHARS);
    const rows = await queryRows<{ txt: string | null; num: number | null }>(t.db, sql`select p.txt, p.num from point_data p join devices d on d.id = p.device_id where d.device_key = 'dev001' order by p.point_id`);
    expect(rows.map((x) => x.txt ?? Number(x.num))).toEqual(expect.arrayContaining([uriA, 123]));
  });

  it('#6 postMeasurepoint by assetId with a binary FILE point and UTF-8 text, chunked (progress listener)', async () => {
    const boundary = '4f8f523c-1cd0-4d4a-8e6c-a40589026155';
    const message = `{"method":"integration.measurepoint.post","files":{"gYeL96x6QJE.bin":{"fileName":"gYeL96x6QJE.bin","assetId":"${asset0001.assetId}","fileExt":".bin","featureId":"FileMeasurePoint1","originalFilename":"sample-b.bin","fileLength":"300","md5":"${md5Hex(FILE_B)}"}},"id":"2","params":[{"measurepoints":{"StringMeasurePoint1":"sample-é中","FileMeasurePoint1":"local://gYeL96x6QJE.bin","DoubleMeasurePoint1":21.5},"assetId":"${asset0001.assetId}","time":1795645363206}],"version":"1.1","isRealtimeIntegration":true}`;
    const body = buildMultipart(boundary, [sdkMessagePart(message), sdkFilePart('gYeL96x6QJE.bin', FILE_B)]);
    const r = await okhttpPost(`/connect-service/v2.1/integration?action=postMeasurepoint&orgId=${ORG}`, boundary, body, true);
    const env = expectSuccess(r);
    expect(env.data.uriInfoList).toEqual([{ fileUri: expect.stringMatching(URI_CHARS), filename: 'gYeL96x6QJE.bin' }]);
    uriB = env.data.uriInfoList[0].fileUri;
    const rows = await queryRows<{ txt: string | null }>(t.db, sql`select p.txt from point_data p join devices d on d.id = p.device_id where d.asset_id = ${asset0001.assetId} and p.txt is not null`);
    expect(rows.map((x) => x.txt)).toEqual(expect.arrayContaining(['sample-é中', uriB]));
  });

  it('#7 postAttribute by productKey+deviceKey with "files":{} answers data null', async () => {
    const boundary = '5f39a728-ba37-41d3-b261-1ba1bf5a48fe';
    const message = '{"method":"integration.attribute.post","files":{},"id":"3","params":[{"deviceKey":"dev001","attributes":{"IntAttribute1":42},"productKey":"pkAbc123"}],"version":"1.1","isRealtimeIntegration":true}';
    const body = buildMultipart(boundary, [sdkMessagePart(message)]);
    expect(body.length).toBe(356);
    const env = expectSuccess(await okhttpPost(`/connect-service/v2.1/integration?action=postAttribute&orgId=${ORG}`, boundary, body, false));
    expect(env.data).toBeNull();
    const rows = await queryRows<{ value: unknown }>(t.db, sql`select a.value from attribute_values a join devices d on d.id = a.device_id where d.device_key = 'dev001'`);
    expect(rows.map((x) => (typeof x.value === 'string' ? JSON.parse(x.value) : x.value))).toEqual([42]);
  });

  it('#8 postEvent by assetId answers data null', async () => {
    const boundary = '92e10f60-bfe3-4758-85df-365cf7ebaa99';
    const message = `{"method":"integration.event.post","files":{},"id":"4","params":[{"assetId":"${asset0001.assetId}","time":1795645363346,"events":{"IntEvent1":{"struct2":1234}}}],"version":"1.1","isRealtimeIntegration":true}`;
    const env = expectSuccess(await okhttpPost(`/connect-service/v2.1/integration?action=postEvent&orgId=${ORG}`, boundary, buildMultipart(boundary, [sdkMessagePart(message)]), false));
    expect(env.data).toBeNull();
    const rows = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from event_data e join devices d on d.id = e.device_id where d.asset_id = ${asset0001.assetId}`);
    expect(rows[0]?.n).toBe(1);
  });

  it('#10 downloads bytes 0-4 with 206, Content-Range, Accept-Ranges, the original name and an exact Content-Length (fileUri unencoded)', async () => {
    const r = await okhttpGet(`/connect-service/v2.1/files?action=download&orgId=${ORG}&fileUri=${uriA}&category=feature&productKey=pkAbc123&deviceKey=dev001`, 'bytes=0-4');
    expect(r.status).toBe(206);
    expect(r.body.toString()).toBe('hello');
    expect(r.chunked).toBe(false);
    expect(r.headers['content-length']).toBe('5');
    expect(r.headers['content-range']).toBe('bytes 0-4/43');
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers['content-disposition']).toBe('attachment; filename="sample-a.txt"');
    expect(r.headers['content-encoding']).toBeUndefined();
    // The whole file's MD5 would not match the partial body; the ETag still names the file.
    expect(r.headers['content-md5']).toBeUndefined();
    expect(r.headers['etag']).toBe(`"${md5Hex(FILE_A)}"`);
  });

  it('downloads a whole file with 200, Accept-Ranges and its exact bytes, by assetId, with fileUri encoded or not', async () => {
    for (const fileUri of [uriB, encodeURIComponent(uriB)]) {
      const r = await okhttpGet(`/connect-service/v2.1/files?action=download&orgId=${ORG}&fileUri=${fileUri}&category=feature&assetId=${asset0001.assetId}`);
      expect(r.status).toBe(200);
      expect(r.headers['accept-ranges']).toBe('bytes');
      expect(r.headers['content-length']).toBe('300');
      expect(r.body.equals(FILE_B)).toBe(true);
      expect(r.headers['content-disposition']).toBe('attachment; filename="sample-b.bin"');
      expect(r.headers['content-md5']).toBe(md5Hex(r.body));
    }
  });

  it('serves open-ended and suffix ranges with 206', async () => {
    const base = `/connect-service/v2.1/files?action=download&orgId=${ORG}&fileUri=${uriB}&category=feature&assetId=${asset0001.assetId}`;
    const open = await okhttpGet(base, 'bytes=290-');
    expect([open.status, open.headers['content-range'], open.headers['content-length']]).toEqual([206, 'bytes 290-299/300', '10']);
    expect(open.body.equals(FILE_B.subarray(290))).toBe(true);
    expect(open.headers['content-md5']).toBeUndefined();
    const suffix = await okhttpGet(base, 'bytes=-3');
    expect([suffix.status, suffix.headers['content-range']]).toEqual([206, 'bytes 297-299/300']);
    expect(suffix.body.equals(FILE_B.subarray(297))).toBe(true);
    const clipped = await okhttpGet(base, 'bytes=100-100000');
    expect([clipped.status, clipped.headers['content-range'], clipped.headers['content-length']]).toEqual([206, 'bytes 100-299/300', '200']);
  });

  it('answers an unsatisfiable or malformed range with 416, Content-Range */size and a JSON envelope', async () => {
    const base = `/connect-service/v2.1/files?action=download&orgId=${ORG}&fileUri=${uriB}&category=feature&assetId=${asset0001.assetId}`;
    for (const range of ['bytes=300-400', 'bytes=abc', 'items=0-4']) {
      const r = await okhttpGet(base, range);
      expect(r.status).toBe(416);
      expect(r.headers['content-range']).toBe('bytes */300');
      expect(json<Envelope>(r)).toMatchObject({ code: 99400, data: null });
    }
  });

  it('answers HEAD like GET without a body, and getDownloadUrl with a URL string and no string requestId', async () => {
    const head = await rawRequest(t.url, { method: 'HEAD', target: `/connect-service/v2.1/files?action=download&orgId=${ORG}&fileUri=${uriB}&category=feature&assetId=${asset0001.assetId}`, headers: [['apim-accesstoken', tenant.token]] });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '300', 0]);
    const lark = await okhttpGet(`/connect-service/v2.1/files?action=getDownloadUrl&orgId=${ORG}&fileUri=${uriB}&category=feature&assetId=${asset0001.assetId}`);
    expect(lark.status).toBe(200);
    const body = json<Record<string, unknown>>(lark);
    expect(body).toMatchObject({ code: 0, msg: 'OK', data: expect.stringMatching(/^http:\/\/.+\/signed-files\//) });
    expect('requestId' in body).toBe(false);
  });

  it('#12 deletes a file with an empty POST without Content-Type and answers data null; #14 a download then answers 404 99404', async () => {
    const r = await rawRequest(t.url, {
      method: 'POST',
      target: `/connect-service/v2.1/files?action=delete&orgId=${ORG}&fileUri=${uriA}&productKey=pkAbc123&deviceKey=dev001`,
      headers: [['apim-accesstoken', tenant.token], ['Content-Length', '0'], ['Host', host], ['Connection', 'Keep-Alive'], ['Accept-Encoding', 'gzip'], ['User-Agent', 'okhttp/3.13.1']],
    });
    expect(expectSuccess(r).data).toBeNull();
    const after = await okhttpGet(`/connect-service/v2.1/files?action=download&orgId=${ORG}&fileUri=${uriA}&category=feature&productKey=pkAbc123&deviceKey=dev001`);
    expect(after.status).toBe(404);
    expect(json<Envelope>(after)).toMatchObject({ code: 99404, msg: 'file not found', data: null });
    const again = await rawRequest(t.url, { method: 'POST', target: `/connect-service/v2.1/files?action=delete&orgId=${ORG}&fileUri=${uriA}&productKey=pkAbc123&deviceKey=dev001`, headers: [['apim-accesstoken', tenant.token], ['Content-Length', '0']] });
    expect(json<Envelope>(again)).toMatchObject({ code: 99404, data: null });
  });

  it('keeps an idle keep-alive connection open past Node\'s 5 s default, as the SDK\'s pool expects', async () => {
    expect(t.app.server.keepAliveTimeout).toBeGreaterThan(300_000);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = request(`${t.url}/connect-service/v2.1/files?action=download&orgId=${ORG}&fileUri=${uriB}&category=feature&assetId=${asset0001.assetId}`, { agent, headers: { 'apim-accesstoken': tenant.token } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get()).toEqual({ status: 200, reused: false });
    await new Promise((r) => setTimeout(r, 5_500));
    expect(await get()).toEqual({ status: 200, reused: true });
    agent.destroy();
  });
});
