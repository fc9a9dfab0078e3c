import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/storage/db';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { buildMultipart, json, md5Hex, okhttpBoundary, rawRequest, sdkFileName, sdkFilePart, sdkMessagePart, type Envelope, type RawResponse, type WirePart } from './enos-wire';
import { createSampleDevices, postMultipart, sdkMessage, sdkPost, type SampleDevice } from './fixtures';

let t: TestApp;
let tenant: Tenant;
let dev: SampleDevice;
let dev2: SampleDevice;
let disabled: SampleDevice;
const T = 1795645363152;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-shim-files');
  [dev, dev2, disabled] = (await createSampleDevices(t, tenant, 'pkShimFiles', ['devFiles01', 'devFiles02', 'devOff01'])) as [SampleDevice, SampleDevice, SampleDevice];
  const r = await t.gql(tenant.token, 'mutation($d: DeviceRefInput!) { disableDevice(device: $d) { enabled } }', { d: { assetId: disabled.assetId } });
  expect(r.errors).toBeUndefined();
});
afterAll(() => t.close());

function envelope(r: RawResponse, code: number): Envelope {
  expect(r.status).toBe(200);
  const body = json<Envelope>(r);
  expect({ code: body.code, msg: body.msg }).toEqual({ code, msg: code === 0 ? 'OK' : expect.any(String) });
  expect(body.data === null || (typeof body.data === 'object' && !Array.isArray(body.data))).toBe(true);
  return body;
}

const target = (action: string) => `/connect-service/v2.1/integration?action=${action}&orgId=${tenant.orgId}`;

async function download(uri: string, device: SampleDevice = dev): Promise<RawResponse> {
  return rawRequest(t.url, { target: `/connect-service/v2.1/files?action=download&orgId=${tenant.orgId}&fileUri=${uri}&category=feature&assetId=${device.assetId}`, headers: [['apim-accesstoken', tenant.token]] });
}

describe('curl-style requests', () => {
  it('accepts curl -F parts (no per-part Content-Length, text/plain file, no Content-MD5) sent with Expect: 100-continue', async () => {
    const boundary = '------------------------d74496d66958873e';
    const content = Buffer.from('measured by curl\n');
    const message = JSON.stringify({ method: 'integration.measurepoint.post', id: 7, version: '1.1', params: [{ assetId: dev.assetId, time: T, measurepoints: { FileMeasurePoint1: 'local://report.txt', IntMeasurePoint1: 5 } }] });
    const body = buildMultipart(boundary.slice(2), [
      { headers: [['Content-Disposition', 'form-data; name="enos-message"']], body: Buffer.from(message) },
      { headers: [['Content-Disposition', 'form-data; name="enos-file"; filename="report.txt"'], ['Content-Type', 'text/plain']], body: content },
    ]);
    const r = await rawRequest(t.url, {
      method: 'POST',
      target: target('postMeasurepoint'),
      headers: [['User-Agent', 'curl/8.5.0'], ['Accept', '*/*'], ['apim-accesstoken', tenant.token], ['Content-Length', String(body.length)], ['Content-Type', `multipart/form-data; boundary=${boundary.slice(2)}`], ['Expect', '100-continue']],
      body,
      expectContinue: true,
    });
    expect(r.interim).toEqual([100]);
    const env = envelope(r, 0);
    expect(env.data.uriInfoList).toEqual([{ fileUri: expect.stringMatching(/^enos-connect:\/\//), filename: 'report.txt' }]);
    const got = await download(env.data.uriInfoList[0].fileUri);
    expect(got.body.equals(content)).toBe(true);
    expect(got.headers['content-disposition']).toBe('attachment; filename="report.txt"');
  });

  it('accepts the enos-message sent as a file part (curl -F enos-message=@msg.json;type=application/json)', async () => {
    const boundary = okhttpBoundary();
    const message = sdkMessage('integration.measurepoint.post', '1', [{ assetId: dev.assetId, time: T + 1, measurepoints: { IntMeasurePoint1: 6 } }], []);
    const body = buildMultipart(boundary, [{ headers: [['Content-Disposition', 'form-data; name="enos-message"; filename="msg.json"'], ['Content-Type', 'application/json']], body: Buffer.from(message) }]);
    envelope(await postMultipart(t, tenant.token, target('postMeasurepoint'), boundary, body), 0);
  });

  it('accepts a chunked body without per-part Content-Length', async () => {
    const boundary = okhttpBoundary();
    const name = sdkFileName('.log');
    const content = Buffer.alloc(70_000, 'z');
    const message = sdkMessage('integration.measurepoint.post', '1', [{ assetId: dev.assetId, time: T + 2, measurepoints: { FileMeasurePoint1: `local://${name}` } }], [{ name, content, featureId: 'FileMeasurePoint1' }]);
    const body = buildMultipart(boundary, [sdkMessagePart(message, { contentLength: false }), sdkFilePart(name, content, { contentLength: false, md5: null })]);
    const env = envelope(await postMultipart(t, tenant.token, target('postMeasurepoint'), boundary, body, true), 0);
    expect((await download(env.data.uriInfoList[0].fileUri)).body.equals(content)).toBe(true);
  });
});

describe('file references and part details', () => {
  it('resolves local:// inside a struct member', async () => {
    const name = sdkFileName('.pdf');
    const content = Buffer.from('%PDF-1.4 struct doc');
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: dev.assetId, time: T + 10, measurepoints: { StructMeasurePoint1: { doc: `local://${name}`, n: 3 } } }], [{ name, content, featureId: 'StructMeasurePoint1' }]);
    const uri = envelope(r, 0).data.uriInfoList[0].fileUri as string;
    const rows = await queryRows<{ json: unknown }>(t.db, sql`select p.json from point_data p join devices d on d.id = p.device_id where d.asset_id = ${dev.assetId} and p.time = ${new Date(T + 10).toISOString()}::timestamptz`);
    const stored = rows.map((x) => (typeof x.json === 'string' ? JSON.parse(x.json) : x.json));
    expect(stored).toEqual([{ doc: uri, n: 3 }]);
    expect((await download(uri)).body.equals(content)).toBe(true);
  });

  it('resolves local:// inside an event parameter', async () => {
    const name = sdkFileName('.txt');
    const r = await sdkPost(t, tenant, 'postEvent', [{ assetId: dev.assetId, time: T + 11, events: { FileEvent1: { report: `local://${name}`, code: 9 } } }], [{ name, content: Buffer.from('event report'), featureId: 'FileEvent1' }]);
    const uri = envelope(r, 0).data.uriInfoList[0].fileUri as string;
    const rows = await queryRows<{ params: unknown }>(t.db, sql`select e.params from event_data e join devices d on d.id = e.device_id where d.asset_id = ${dev.assetId} and e.time = ${new Date(T + 11).toISOString()}::timestamptz`);
    expect(rows.map((x) => (typeof x.params === 'string' ? JSON.parse(x.params) : x.params))).toEqual([{ report: uri, code: 9 }]);
  });

  it('stores a FILE attribute', async () => {
    const name = sdkFileName('.cfg');
    const r = await sdkPost(t, tenant, 'postAttribute', [{ productKey: dev.productKey, deviceKey: dev.deviceKey, attributes: { FileAttribute1: `local://${name}`, IntAttribute1: 1 } }], [{ name, content: Buffer.from('k=v'), featureId: 'FileAttribute1', originalFilename: 'device.cfg' }]);
    const uri = envelope(r, 0).data.uriInfoList[0].fileUri as string;
    const got = await download(uri);
    expect(got.body.toString()).toBe('k=v');
    expect(got.headers['content-disposition']).toBe('attachment; filename="device.cfg"');
  });

  it('decodes %22, %0D and %0A in a filename and keeps the name harmless in Content-Disposition', async () => {
    const name = 'say "hi".txt';
    const message = sdkMessage('integration.measurepoint.post', '1', [{ assetId: dev.assetId, time: T + 12, measurepoints: { FileMeasurePoint1: `local://${name}` } }], [{ name, content: Buffer.from('q'), originalFilename: 'say "hi".txt' }]);
    const boundary = okhttpBoundary();
    const body = buildMultipart(boundary, [sdkMessagePart(message), sdkFilePart(name, Buffer.from('q'))]);
    expect(body.toString()).toContain('filename="say %22hi%22.txt"');
    const env = envelope(await postMultipart(t, tenant.token, target('postMeasurepoint'), boundary, body), 0);
    expect(env.data.uriInfoList[0].filename).toBe(name);
    expect(env.data.uriInfoList[0].fileUri).toMatch(/^enos-connect:\/\/[A-Za-z0-9._~:/-]+$/);
    const got = await download(env.data.uriInfoList[0].fileUri);
    expect(got.headers['content-disposition']).toBe('attachment; filename="say _hi_.txt"; filename*=UTF-8\'\'say%20%22hi%22.txt');
  });

  it('tolerates extra Content-Disposition parameters and a message without a files map', async () => {
    const name = sdkFileName('.bin');
    const message = JSON.stringify({ method: 'integration.attribute.post', id: '9', version: '1.1', params: [{ assetId: dev2.assetId, attributes: { FileAttribute1: `local://${name}` } }] });
    const boundary = okhttpBoundary();
    const part: WirePart = sdkFilePart(name, Buffer.from([1, 2, 3]), { extraDisposition: `; feature-type="attribute"; feature-id="FileAttribute1"; asset-id="${dev2.assetId}"` });
    const env = envelope(await postMultipart(t, tenant.token, target('postAttribute'), boundary, buildMultipart(boundary, [sdkMessagePart(message), part])), 0);
    expect(env.data.uriInfoList[0].filename).toBe(name);
  });

  it('accepts Content-MD5 in upper-case hex and in base64', async () => {
    for (const form of ['hex', 'base64'] as const) {
      const name = sdkFileName();
      const content = Buffer.from(`md5 ${form}`);
      const md5 = form === 'hex' ? md5Hex(content).toUpperCase() : Buffer.from(md5Hex(content), 'hex').toString('base64');
      const boundary = okhttpBoundary();
      const message = sdkMessage('integration.measurepoint.post', '1', [{ assetId: dev.assetId, time: T + 13, measurepoints: { FileMeasurePoint1: `local://${name}` } }], []);
      envelope(await postMultipart(t, tenant.token, target('postMeasurepoint'), boundary, buildMultipart(boundary, [sdkMessagePart(message), sdkFilePart(name, content, { md5 })])), 0);
    }
  });

  it('refuses a files-map md5 that does not match the part with 99400, storing nothing', async () => {
    const name = sdkFileName();
    const boundary = okhttpBoundary();
    const message = JSON.stringify({ method: 'integration.measurepoint.post', id: '1', version: '1.1', files: { [name]: { md5: '0e202f9b67323d11df8a79b319a3d4f6', fileLength: '5' } }, params: [{ assetId: dev.assetId, time: T + 14, measurepoints: { FileMeasurePoint1: `local://${name}`, IntMeasurePoint1: 1 } }] });
    const r = await postMultipart(t, tenant.token, target('postMeasurepoint'), boundary, buildMultipart(boundary, [sdkMessagePart(message), sdkFilePart(name, Buffer.from('12345'), { md5: null })]));
    expect(envelope(r, 99400).data.errors[0]).toMatchObject({ index: 0, code: 'FILE_INVALID' });
    const rows = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data where time = ${new Date(T + 14).toISOString()}::timestamptz`);
    expect(rows[0]?.n).toBe(0);
  });

  it('refuses a local:// reference without its file part with 99400', async () => {
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: dev.assetId, time: T + 15, measurepoints: { FileMeasurePoint1: 'local://nothere.txt' } }]);
    expect(envelope(r, 99400).data.errors[0]).toMatchObject({ code: 'FILE_MISSING' });
  });
});

describe('values, channels and model errors', () => {
  it('routes isRealtimeIntegration=false to the offline channel: stored, latest value untouched', async () => {
    envelope(await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: dev2.assetId, time: T + 100, measurepoints: { IntMeasurePoint1: 1 } }]), 0);
    envelope(await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: dev2.assetId, time: T + 200, measurepoints: { IntMeasurePoint1: 2 } }], [], { realtime: false }), 0);
    const rows = await queryRows<{ num: number; offline: boolean }>(t.db, sql`select p.num, coalesce(p.offline, false) as offline from point_data p join devices d on d.id = p.device_id where d.asset_id = ${dev2.assetId} order by p.time`);
    expect(rows.map((x) => [Number(x.num), x.offline])).toEqual([
      [1, false],
      [2, true],
    ]);
    const latest = await queryRows<{ num: number }>(t.db, sql`select l.num from latest_values l join devices d on d.id = l.device_id where d.asset_id = ${dev2.assetId}`);
    expect(latest.map((x) => Number(x.num))).toEqual([1]);
  });

  it('accepts {value, quality} for a quality point, string timestamps and numeric ids', async () => {
    const message = JSON.stringify({ id: 12, method: 'integration.measurepoint.post', version: '1.1', files: {}, params: [{ assetId: dev2.assetId, time: String(T + 300), measurepoints: { QualityPoint1: { value: 1.5, quality: 2 } } }] });
    const boundary = okhttpBoundary();
    envelope(await postMultipart(t, tenant.token, target('postMeasurepoint'), boundary, buildMultipart(boundary, [sdkMessagePart(message)])), 0);
    const rows = await queryRows<{ num: number; quality: number }>(t.db, sql`select p.num, p.quality from point_data p join devices d on d.id = p.device_id where d.asset_id = ${dev2.assetId} and p.time = ${new Date(T + 300).toISOString()}::timestamptz`);
    expect(rows.map((x) => [Number(x.num), Number(x.quality)])).toEqual([[1.5, 2]]);
  });

  it('answers a value outside the model with 1204 and the item errors in data.errors, storing nothing', async () => {
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [
      { assetId: dev.assetId, time: T + 400, measurepoints: { IntMeasurePoint1: 1 } },
      { assetId: dev.assetId, time: T + 401, measurepoints: { IntMeasurePoint1: 'not a number' } },
    ]);
    const env = envelope(r, 1204);
    expect(env.msg).toMatch(/IntMeasurePoint1/);
    expect(env.data.errors[0]).toMatchObject({ index: 1, identifier: 'IntMeasurePoint1', code: 'TYPE_MISMATCH' });
    const rows = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data where time in (${new Date(T + 400).toISOString()}::timestamptz, ${new Date(T + 401).toISOString()}::timestamptz)`);
    expect(rows[0]?.n).toBe(0);
  });

  it('answers an identifier the model lacks with 1204', async () => {
    expect(envelope(await sdkPost(t, tenant, 'postAttribute', [{ assetId: dev.assetId, attributes: { NoSuchAttribute: 1 } }]), 1204).data.errors[0]).toMatchObject({ code: 'UNKNOWN_IDENTIFIER' });
  });

  it('answers an unknown device with 1257, by assetId or by keys', async () => {
    envelope(await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: 'NoSuchAsset', time: T, measurepoints: { IntMeasurePoint1: 1 } }]), 1257);
    envelope(await sdkPost(t, tenant, 'postEvent', [{ productKey: 'pkShimFiles', deviceKey: 'nosuchdev', time: T, events: { IntEvent1: { struct2: 1 } } }]), 1257);
  });

  it('answers a disabled device with 723', async () => {
    envelope(await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: disabled.assetId, time: T, measurepoints: { IntMeasurePoint1: 1 } }]), 723);
  });
});
