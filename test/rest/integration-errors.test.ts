import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { buildMultipart, json, okhttpBoundary, rawRequest, sdkFileName, sdkFilePart, sdkMessagePart, type Envelope, type RawResponse } from './enos-wire';
import { createSampleDevices, postMultipart, sdkMessage, sdkPost, type SampleDevice } from './fixtures';

let t: TestApp;
let tenant: Tenant;
let other: Tenant;
let device: SampleDevice;
const spoolDir = mkdtempSync(join(tmpdir(), 'tributary-spool-test-'));

beforeAll(async () => {
  t = await startTestApp({ UPLOAD_MAX_BYTES: '4096', UPLOAD_MAX_FILES: '3', UPLOAD_TMP_DIR: spoolDir });
  tenant = await t.tenant('o-errors');
  other = await t.tenant('o-errors-other');
  device = (await createSampleDevices(t, tenant, 'pkErrors', ['devErr01']))[0]!;
});
afterAll(async () => {
  await t.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

const point = () => ({ assetId: device.assetId, time: 1795645363152, measurepoints: { IntMeasurePoint1: 1 } });
const target = (q = `action=postMeasurepoint&orgId=${tenant.orgId}`) => `/connect-service/v2.1/integration?${q}`;

function expectEnvelope(r: RawResponse, httpStatus: number, code: number): Envelope {
  expect(r.status).toBe(httpStatus);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const body = json<Envelope>(r);
  expect(body.code).toBe(code);
  expect(typeof body.msg).toBe('string');
  expect(typeof body.requestId).toBe('string');
  expect(body.data === null || (typeof body.data === 'object' && !Array.isArray(body.data))).toBe(true);
  return body;
}

function messageOnly(message: string) {
  const boundary = okhttpBoundary();
  return { boundary, body: buildMultipart(boundary, [sdkMessagePart(message)]) };
}

describe('integration route: authentication and parameters', () => {
  it('answers a request without a token with HTTP 401 and a JSON envelope', async () => {
    const { boundary, body } = messageOnly(sdkMessage('integration.measurepoint.post', '1', [point()], []));
    const r = await postMultipart(t, undefined, target(), boundary, body);
    expectEnvelope(r, 401, 1202);
  });

  it('answers a forged token with HTTP 401', async () => {
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [point()], [], { token: 'tok-00000000000000000000000000000000' });
    expectEnvelope(r, 401, 1203);
  });

  it('refuses a missing orgId with 99400', async () => {
    const { boundary, body } = messageOnly(sdkMessage('integration.measurepoint.post', '1', [point()], []));
    const r = await postMultipart(t, tenant.token, target('action=postMeasurepoint'), boundary, body);
    expect(expectEnvelope(r, 200, 99400).msg).toMatch(/orgId/);
  });

  it("answers another organisation's id exactly like an unknown one (99404), without revealing it", async () => {
    const a = expectEnvelope(await sdkPost(t, tenant, 'postMeasurepoint', [point()], [], { query: other.orgId }), 200, 99404);
    const b = expectEnvelope(await sdkPost(t, tenant, 'postMeasurepoint', [point()], [], { query: 'o-does-not-exist' }), 200, 99404);
    expect(a.msg.replace(other.orgId, 'X')).toBe(b.msg.replace('o-does-not-exist', 'X'));
  });

  it('accepts the token in Authorization: Bearer as well', async () => {
    const { boundary, body } = messageOnly(sdkMessage('integration.measurepoint.post', '1', [point()], []));
    const r = await postMultipart(t, undefined, target(`action=postMeasurepoint&orgId=${other.orgId}`), boundary, body, false, [['Authorization', `Bearer ${tenant.token}`]]);
    expectEnvelope(r, 200, 99404);
  });

  it('refuses an unknown or missing action with 99400', async () => {
    for (const q of [`orgId=${tenant.orgId}`, `action=postService&orgId=${tenant.orgId}`]) {
      const { boundary, body } = messageOnly(sdkMessage('integration.measurepoint.post', '1', [point()], []));
      expect(expectEnvelope(await postMultipart(t, tenant.token, target(q), boundary, body), 200, 99400).msg).toMatch(/action/);
    }
  });

  it('accepts Lark mode (useLark=true) without files like an ordinary post (data null)', async () => {
    const { boundary, body } = messageOnly(sdkMessage('integration.measurepoint.post', '1', [point()], []));
    const r = await postMultipart(t, tenant.token, target(`action=postMeasurepoint&orgId=${tenant.orgId}&useLark=true`), boundary, body);
    expect(expectEnvelope(r, 200, 0).data).toBeNull();
  });

  it('answers GET on the integration path with 405 in the envelope', async () => {
    const r = await rawRequest(t.url, { target: target(), headers: [['apim-accesstoken', tenant.token]] });
    expect(r.status).toBe(405);
    expect(json<Envelope>(r).code).toBe(99400);
  });
});

describe('integration route: malformed bodies', () => {
  it('refuses a body that is not multipart with 99400', async () => {
    const body = Buffer.from(sdkMessage('integration.measurepoint.post', '1', [point()], []));
    const r = await rawRequest(t.url, { method: 'POST', target: target(), headers: [['apim-accesstoken', tenant.token], ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]], body });
    expect(expectEnvelope(r, 200, 99400).msg).toMatch(/multipart/);
  });

  it('refuses a multipart body cut before its closing boundary with 99400', async () => {
    const boundary = okhttpBoundary();
    const full = buildMultipart(boundary, [sdkMessagePart(sdkMessage('integration.measurepoint.post', '1', [point()], []))]);
    const body = full.subarray(0, full.length - boundary.length - 8);
    expect(expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 99400).msg).toMatch(/malformed multipart/);
  });

  it('refuses a body without an enos-message part with 99400', async () => {
    const boundary = okhttpBoundary();
    const name = sdkFileName();
    const body = buildMultipart(boundary, [sdkFilePart(name, Buffer.from('abc'))]);
    expect(expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 99400).msg).toMatch(/enos-message part is missing/);
  });

  it('refuses two enos-message parts with 99400', async () => {
    const boundary = okhttpBoundary();
    const m = sdkMessage('integration.measurepoint.post', '1', [point()], []);
    const body = buildMultipart(boundary, [sdkMessagePart(m), sdkMessagePart(m)]);
    expect(expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 99400).msg).toMatch(/exactly one/);
  });

  it('refuses an enos-message that is not JSON with 99400', async () => {
    const { boundary, body } = messageOnly('{"method":"integration.measurepoint.post","params":[{]}');
    expect(expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 99400).msg).toMatch(/not valid JSON/);
  });

  it('refuses an enos-message whose params is not an array with 99400', async () => {
    const { boundary, body } = messageOnly('{"method":"integration.measurepoint.post","params":{"assetId":"x"},"files":{}}');
    expect(expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 99400).msg).toMatch(/params/);
  });

  it('refuses an item naming no device, or without time, with 99400', async () => {
    for (const item of [{ time: 1, measurepoints: { IntMeasurePoint1: 1 } }, { productKey: 'pkErrors', time: 1, measurepoints: {} }, { assetId: device.assetId, measurepoints: { IntMeasurePoint1: 1 } }]) {
      const { boundary, body } = messageOnly(sdkMessage('integration.measurepoint.post', '1', [item], []));
      expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 99400);
    }
  });

  it('answers an oversized enos-message with 1008 on a healthy connection', async () => {
    const big = { assetId: device.assetId, time: 1, measurepoints: { StringMeasurePoint1: 'x'.repeat(600 * 1024) } };
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [big]);
    expect(expectEnvelope(r, 200, 1008).msg).toMatch(/^the enos-message part is over [\d,]+ bytes, the limit \(ENOS_MESSAGE_MAX_BYTES\)$/);
  });

  it('answers an oversized enos-message sent as a file part (curl -F enos-message=@f) with 1008', async () => {
    const boundary = okhttpBoundary();
    const m = sdkMessage('integration.measurepoint.post', '1', [{ ...point(), measurepoints: { StringMeasurePoint1: 'y'.repeat(600 * 1024) } }], []);
    const body = buildMultipart(boundary, [{ headers: [['Content-Disposition', 'form-data; name="enos-message"; filename="msg.json"'], ['Content-Type', 'application/json']], body: Buffer.from(m) }]);
    expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 1008);
  });

  it('answers a file part above UPLOAD_MAX_BYTES with 1008, chunked or not', async () => {
    for (const chunked of [false, true]) {
      const name = sdkFileName('.bin');
      const r = await sdkPost(t, tenant, 'postMeasurepoint', [{ ...point(), measurepoints: { FileMeasurePoint1: `local://${name}` } }], [{ name, content: Buffer.alloc(5000, 7), featureId: 'FileMeasurePoint1' }], { chunked });
      expect(expectEnvelope(r, 200, 1008).msg).toBe(`file ${name} is over 4,096 bytes, the limit (UPLOAD_MAX_BYTES)`);
    }
  });

  it('refuses more than UPLOAD_MAX_FILES file parts with 99400', async () => {
    const files = [1, 2, 3, 4].map((i) => ({ name: sdkFileName(), content: Buffer.from(`f${i}`), featureId: 'FileMeasurePoint1' }));
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [{ ...point(), measurepoints: Object.fromEntries(files.map((f, i) => [`P${i}`, `local://${f.name}`])) }], files);
    expect(expectEnvelope(r, 200, 99400).msg).toMatch(/at most 3/);
  });

  it('refuses a file part whose hex Content-MD5 does not match its bytes with 99400', async () => {
    const boundary = okhttpBoundary();
    const name = sdkFileName();
    const m = sdkMessage('integration.measurepoint.post', '1', [{ ...point(), measurepoints: { FileMeasurePoint1: `local://${name}` } }], []);
    const body = buildMultipart(boundary, [sdkMessagePart(m), sdkFilePart(name, Buffer.from('real content'), { md5: '0e202f9b67323d11df8a79b319a3d4f6' })]);
    expect(expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 99400).msg).toMatch(/Content-MD5/);
  });

  it('refuses a path-traversal file name with 99400', async () => {
    for (const name of ['../../etc/passwd', '..\\..\\boot.ini', '/abs/path.txt', '..', 'a\r\nb.txt']) {
      const boundary = okhttpBoundary();
      const m = sdkMessage('integration.measurepoint.post', '1', [{ ...point(), measurepoints: { FileMeasurePoint1: `local://${name}` } }], []);
      const body = buildMultipart(boundary, [sdkMessagePart(m), sdkFilePart(name, Buffer.from('x'))]);
      expect(expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 99400).msg).toMatch(/invalid file name/);
    }
  });

  it('refuses two file parts with the same name with 99400', async () => {
    const boundary = okhttpBoundary();
    const name = sdkFileName();
    const m = sdkMessage('integration.measurepoint.post', '1', [{ ...point(), measurepoints: { FileMeasurePoint1: `local://${name}` } }], []);
    const body = buildMultipart(boundary, [sdkMessagePart(m), sdkFilePart(name, Buffer.from('x')), sdkFilePart(name, Buffer.from('y'))]);
    expectEnvelope(await postMultipart(t, tenant.token, target(), boundary, body), 200, 99400);
  });

  it('refuses a file part that no local:// value references with 99400', async () => {
    const stray = sdkFileName();
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [point()], [], { extraParts: [sdkFilePart(stray, Buffer.from('stray'))] });
    expect(expectEnvelope(r, 200, 99400).msg).toMatch(/not referenced/);
  });

  it('leaves no spooled file behind, whatever the outcome', async () => {
    // Spooled parts are removed right after the answer is sent.
    for (let i = 0; i < 50 && readdirSync(spoolDir).length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(spoolDir)).toEqual([]);
  });
});
