import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireAbandonedUploads } from '../../src/files/presigned-upload';
import { queryRows } from '../../src/storage/db';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { buildMultipart, json, md5Hex, rawRequest, sdkFileName, sdkFilePart, sdkMessagePart, type Envelope, type RawResponse } from './enos-wire';
import { createSampleDevices, postMultipart, sdkMessage, type AttachedFile, type SampleDevice } from './fixtures';

/*
 * Lark mode as the SDK runs it (Builder.setUseLark(true)): the multipart body carries only
 * enos-message, the answer lists one uploadUrl per `files` key, and the SDK PUTs each file's
 * raw bytes there with the given headers and Content-Type: application/octet-stream.
 */

const ORG = 'o-lark-a';
let t: TestApp;
let owner: Tenant;
let stranger: Tenant;
let scoped: Tenant;
let dev: SampleDevice;
let host: string;
let time = 1795645363152;

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.tenant(ORG);
  stranger = await t.tenant('o-lark-b');
  dev = (await createSampleDevices(t, owner, 'pkLark', ['devLark01']))[0]!;
  await createSampleDevices(t, owner, 'pkLarkOther', []);
  scoped = await t.tenant(ORG, [{ permission: 'ASSET_WRITE', productKeys: ['pkLarkOther'] }]);
  await createSampleDevices(t, stranger, 'pkLarkB', ['devLark01']);
  host = new URL(t.url).host;
});
afterAll(() => t.close());

interface UriInfo {
  fileUri: string;
  uploadUrl: string;
  filename: string;
  headers: Record<string, string>;
}

/** The SDK's Lark publish: `&useLark=true`, enos-message only (the files map still sent). */
async function larkPost(who: Tenant, file: AttachedFile, org = ORG, device: Record<string, string> = { productKey: 'pkLark', deviceKey: 'devLark01' }): Promise<RawResponse> {
  const boundary = crypto.randomUUID();
  const message = sdkMessage('integration.measurepoint.post', '1', [{ ...device, time: ++time, measurepoints: { FileMeasurePoint1: `local://${file.name}`, IntMeasurePoint1: 7 } }], [file]);
  return postMultipart(t, who.token, `/connect-service/v2.1/integration?action=postMeasurepoint&orgId=${org}&useLark=true`, boundary, buildMultipart(boundary, [sdkMessagePart(message)]));
}

/** The SDK's FileUtil PUT: the entry's headers, then octet-stream, the raw bytes with Content-Length (okhttp). */
function sdkPut(info: Pick<UriInfo, 'uploadUrl' | 'headers'>, body: Buffer): Promise<RawResponse> {
  const u = new URL(info.uploadUrl);
  return rawRequest(`${u.protocol}//${u.host}`, {
    method: 'PUT',
    target: u.pathname + u.search,
    headers: [...Object.entries(info.headers), ['Content-Type', 'application/octet-stream'], ['Content-Length', String(body.length)], ['Host', u.host], ['Connection', 'Keep-Alive'], ['Accept-Encoding', 'gzip'], ['User-Agent', 'okhttp/3.13.1']],
    body,
  });
}

function download(who: Tenant, fileUri: string): Promise<RawResponse> {
  return rawRequest(t.url, { target: `/connect-service/v2.1/files?action=download&orgId=${ORG}&fileUri=${fileUri}&category=feature&productKey=pkLark&deviceKey=devLark01`, headers: [['apim-accesstoken', who.token]] });
}

async function announce(content: Buffer): Promise<UriInfo> {
  const name = sdkFileName('.bin');
  const r = await larkPost(owner, { name, content, featureId: 'FileMeasurePoint1', originalFilename: 'lark.bin' });
  const env = json<Envelope>(r);
  expect(env.code).toBe(0);
  return env.data.uriInfoList[0] as UriInfo;
}

describe('Lark upload as the SDK runs it', () => {
  it('answers one uriInfoList entry per files key, stores the point with the file URI at once, and takes the PUT', async () => {
    const content = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 13) % 256));
    const name = sdkFileName('.bin');
    const r = await larkPost(owner, { name, content, featureId: 'FileMeasurePoint1', originalFilename: 'sample-lark.bin' });
    expect(r.status).toBe(200);
    const env = json<Envelope>(r);
    expect(env).toMatchObject({ code: 0, msg: 'OK', requestId: expect.any(String) });
    const list = env.data.uriInfoList as UriInfo[];
    expect(list).toHaveLength(1);
    expect(Object.keys(list[0]!).sort()).toEqual(['fileUri', 'filename', 'headers', 'uploadUrl']);
    expect(list[0]).toMatchObject({ filename: name, headers: {} });
    expect(list[0]!.fileUri).toMatch(/^enos-connect:\/\/[A-Za-z0-9._~:/-]+$/);
    expect(list[0]!.uploadUrl).toMatch(new RegExp(`^http://${host.replace(/\./g, '\\.')}/signed-files/[A-Za-z0-9_.-]+$`));

    const rows = await queryRows<{ txt: string | null }>(t.db, sql`select p.txt from point_data p join devices d on d.id = p.device_id join model_features m on m.id = p.point_id where d.device_key = 'devLark01' and m.identifier = 'FileMeasurePoint1' and p.time = ${new Date(time).toISOString()}::timestamptz`);
    expect(rows.map((x) => x.txt)).toEqual([list[0]!.fileUri]);

    // Before the PUT: the file is pending, not missing.
    const early = await download(owner, list[0]!.fileUri);
    expect(early.status).toBe(409);
    expect(json<Envelope>(early)).toMatchObject({ code: 99409, msg: expect.stringMatching(/pending/) });

    const put = await sdkPut(list[0]!, content);
    expect(put.status).toBe(200);
    expect(json<Envelope>(put).code).toBe(0);

    const after = await download(owner, list[0]!.fileUri);
    expect(after.status).toBe(200);
    expect(after.body.equals(content)).toBe(true);
    expect(after.headers['content-md5']).toBe(md5Hex(content));
    expect(after.headers['content-disposition']).toBe('attachment; filename="sample-lark.bin"');
  });

  it('refuses a second PUT to a used upload URL', async () => {
    const content = Buffer.from('used once');
    const info = await announce(content);
    expect((await sdkPut(info, content)).status).toBe(200);
    const again = await sdkPut(info, Buffer.from('other bytes'));
    expect(again.status).toBe(409);
    expect(json<Envelope>(again).msg).toMatch(/already used/);
    expect((await download(owner, info.fileUri)).body.equals(content)).toBe(true);
  });

  it('refuses a body of another size or MD5, and takes a correct retry with the same URL', async () => {
    const content = Buffer.from('exact content 0123456789');
    const info = await announce(content);
    const wrongMd5 = Buffer.from(content);
    wrongMd5[0] = 0x45;
    const r1 = await sdkPut(info, wrongMd5);
    expect(r1.status).toBe(400);
    expect(json<Envelope>(r1)).toMatchObject({ code: 99400, msg: expect.stringMatching(/MD5 mismatch/) });
    const r2 = await sdkPut(info, Buffer.concat([content, Buffer.from('!')]));
    expect(r2.status).toBe(400);
    expect(json<Envelope>(r2).msg).toMatch(/announced with 24/);
    expect((await download(owner, info.fileUri)).status).toBe(409);
    expect((await sdkPut(info, content)).status).toBe(200);
    expect((await download(owner, info.fileUri)).body.equals(content)).toBe(true);
  });

  it('refuses an expired or altered upload URL, and a download link used for upload', async () => {
    const content = Buffer.from('expiring');
    const info = await announce(content);
    const token = new URL(info.uploadUrl).pathname.slice('/signed-files/'.length);
    const claims = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { o: string; w: number; f: number };
    const links = t.app.deps.fileLinks;
    const old = links.sign({ purpose: 'upload', orgId: claims.o, ownerId: claims.w, fileId: claims.f }, Date.now() - links.ttlS * 1000 - 1000);
    const expired = await sdkPut({ uploadUrl: `${t.url}/signed-files/${old.token}`, headers: {} }, content);
    expect(expired.status).toBe(403);
    expect(json<Envelope>(expired).msg).toMatch(/expired/);
    const asDownload = links.sign({ purpose: 'download', orgId: claims.o, ownerId: claims.w, fileId: claims.f });
    expect((await sdkPut({ uploadUrl: `${t.url}/signed-files/${asDownload.token}`, headers: {} }, content)).status).toBe(403);
    const forged = Buffer.from(JSON.stringify({ ...claims, o: 'o-lark-b' })).toString('base64url');
    expect((await sdkPut({ uploadUrl: `${t.url}/signed-files/${forged}.${token.split('.')[1]}`, headers: {} }, content)).status).toBe(403);
    expect((await download(owner, info.fileUri)).status).toBe(409);
  });

  it('expires an upload that never arrives: readers then get 410, and the link is refused', async () => {
    const content = Buffer.from('never sent');
    const info = await announce(content);
    const later = Date.now() + (t.app.deps.config.FILE_URL_TTL_S + 61) * 1000;
    expect(await expireAbandonedUploads({ ...t.app.deps }, later)).toBeGreaterThanOrEqual(1);
    const r = await download(owner, info.fileUri);
    expect(r.status).toBe(410);
    expect(json<Envelope>(r)).toMatchObject({ code: 99410, msg: expect.stringMatching(/expired/) });
    const put = await sdkPut(info, content);
    expect(put.status).toBe(410);
    // The point keeps its URI; the file row says why it has no content.
    const rows = await queryRows<{ state: string }>(t.db, sql`select state from files where uri = ${info.fileUri}`);
    expect(rows).toEqual([{ state: 'expired' }]);
  });

  it('refuses enos-file parts in Lark mode and a files entry without size or MD5', async () => {
    const name = sdkFileName();
    const content = Buffer.from('part');
    const boundary = crypto.randomUUID();
    const message = sdkMessage('integration.measurepoint.post', '1', [{ assetId: dev.assetId, time: ++time, measurepoints: { FileMeasurePoint1: `local://${name}` } }], [{ name, content, featureId: 'FileMeasurePoint1' }]);
    const withPart = await postMultipart(t, owner.token, `/connect-service/v2.1/integration?action=postMeasurepoint&orgId=${ORG}&useLark=true`, boundary, buildMultipart(boundary, [sdkMessagePart(message), sdkFilePart(name, content)]));
    expect(json<Envelope>(withPart)).toMatchObject({ code: 99400, msg: expect.stringMatching(/uploadUrl/) });
    const noMd5 = message.replace(/"md5":"[0-9a-f]{32}"/, '"md5":""');
    const r = await postMultipart(t, owner.token, `/connect-service/v2.1/integration?action=postMeasurepoint&orgId=${ORG}&useLark=true`, boundary, buildMultipart(boundary, [sdkMessagePart(noMd5)]));
    expect(json<Envelope>(r)).toMatchObject({ code: 99400, msg: expect.stringMatching(/md5/) });
  });
});

describe('Lark isolation', () => {
  it('refuses another organisation and a device outside the grant, and reserves no file for them', async () => {
    const count = async () => (await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from files`))[0]!.n;
    const before = await count();
    const file = { name: sdkFileName(), content: Buffer.from('nope'), featureId: 'FileMeasurePoint1' };
    const other = await larkPost(stranger, file);
    expect(json<Envelope>(other).code).toBe(99404);
    const outside = await larkPost(scoped, file);
    expect(json<Envelope>(outside).code).toBe(1257);
    expect(json<Envelope>(outside).data?.uriInfoList).toBeUndefined();
    expect(await count()).toBe(before);
  });

  it('keeps another organisation\'s presigned file out of reach of this organisation\'s token', async () => {
    const content = Buffer.from('org b bytes');
    const name = sdkFileName();
    const r = await larkPost(stranger, { name, content, featureId: 'FileMeasurePoint1' }, 'o-lark-b', { productKey: 'pkLarkB', deviceKey: 'devLark01' });
    const info = json<Envelope>(r).data.uriInfoList[0] as UriInfo;
    expect((await sdkPut(info, content)).status).toBe(200);
    // The owner's token does not reach org B's file, even with its URI.
    expect((await download(owner, info.fileUri)).status).toBe(404);
  });
});
