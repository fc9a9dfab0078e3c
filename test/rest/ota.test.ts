import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { json, md5Hex, rawRequest, type Envelope, type RawResponse } from './enos-wire';
import { createSampleDevices, type SampleDevice } from './fixtures';

/* Firmware packages: uploaded through GraphQL for a product, downloaded by devices with category=ota. */

const ORG = 'o-ota-a';
const FIRMWARE = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) % 256));
const UPLOAD = `mutation($productKey: String!, $version: String!, $md5: String!, $file: Upload!) {
  uploadFirmware(productKey: $productKey, version: $version, md5: $md5, file: $file) { id productKey version uri fileName sizeBytes md5 createdAt } }`;
let t: TestApp;
let owner: Tenant;
let stranger: Tenant;
let scopedReader: Tenant;
let readOnlyRegistry: Tenant;
let dev: SampleDevice;
let otherProductDev: SampleDevice;
let uri: string;
let host: string;

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.tenant(ORG);
  stranger = await t.tenant('o-ota-b');
  dev = (await createSampleDevices(t, owner, 'pkOta', ['devOta01']))[0]!;
  otherProductDev = (await createSampleDevices(t, owner, 'pkOtaOther', ['devOta02']))[0]!;
  scopedReader = await t.tenant(ORG, [{ permission: 'ASSET_READ', productKeys: ['pkOtaOther'] }]);
  readOnlyRegistry = await t.tenant(ORG, [{ permission: 'REGISTRY_READ' }]);
  await createSampleDevices(t, stranger, 'pkOtaB', ['devOta01']);
  host = new URL(t.url).host;
});
afterAll(() => t.close());

async function uploadFirmware(who: Tenant, productKey: string, version: string, content: Buffer, md5 = md5Hex(content)) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: UPLOAD, variables: { productKey, version, md5, file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([content]), `fw-${version}.bin`);
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${who.token}`, 'apollo-require-preflight': 'true' }, body: form });
  return (await res.json()) as { data?: Record<string, any> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** The SDK's downloadFile(deviceInfo, fileUri, FileCategory.OTA[, start, end]). */
function otaDownload(who: Tenant, device: string, fileUri = uri, range?: string, action = 'download'): Promise<RawResponse> {
  return rawRequest(t.url, {
    target: `/connect-service/v2.1/files?action=${action}&orgId=${ORG}&fileUri=${fileUri}&category=ota&${device}`,
    headers: [...(range ? [['Range', range] as const] : []), ['apim-accesstoken', who.token], ['Host', host], ['Connection', 'Keep-Alive'], ['User-Agent', 'okhttp/3.13.1']],
  });
}

describe('firmware packages', () => {
  it('stores a package whose checksum matches and lists it for the product', async () => {
    const r = await uploadFirmware(owner, 'pkOta', '1.2.0', FIRMWARE);
    expect(r.errors).toBeUndefined();
    const fw = r.data!['uploadFirmware'];
    expect(fw).toMatchObject({ productKey: 'pkOta', version: '1.2.0', fileName: 'fw-1.2.0.bin', sizeBytes: FIRMWARE.length, md5: md5Hex(FIRMWARE) });
    expect(fw.uri).toMatch(/^enos-connect:\/\/[A-Za-z0-9_-]{16}\/fw-1\.2\.0\.bin$/);
    uri = fw.uri;
    const list = await t.gql(readOnlyRegistry.token, 'query { firmwarePackages(productKey: "pkOta") { version uri } }');
    expect(list.data?.['firmwarePackages']).toEqual([{ version: '1.2.0', uri }]);
  });

  it('refuses a wrong checksum, a duplicate version, a bad version and a caller without REGISTRY_FULL', async () => {
    expect((await uploadFirmware(owner, 'pkOta', '1.3.0', FIRMWARE, md5Hex('other'))).errors?.[0]).toMatchObject({ message: expect.stringMatching(/checksum mismatch/), extensions: { code: 'BAD_USER_INPUT' } });
    expect((await uploadFirmware(owner, 'pkOta', '1.2.0', FIRMWARE)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await uploadFirmware(owner, 'pkOta', '../x', FIRMWARE)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await uploadFirmware(readOnlyRegistry, 'pkOta', '1.4.0', FIRMWARE)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const list = await t.gql(owner.token, 'query { firmwarePackages(productKey: "pkOta") { version } }');
    expect(list.data?.['firmwarePackages']).toEqual([{ version: '1.2.0' }]);
  });

  it('keeps packages inside the organisation', async () => {
    expect((await uploadFirmware(stranger, 'pkOta', '9.0.0', FIRMWARE)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const list = await t.gql(stranger.token, 'query { firmwarePackages(productKey: "pkOta") { version } }');
    expect(list.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
  });
});

describe('category=ota downloads', () => {
  it('serves the package whole (by productKey+deviceKey) and ranged (by assetId)', async () => {
    const whole = await otaDownload(owner, 'productKey=pkOta&deviceKey=devOta01');
    expect(whole.status).toBe(200);
    expect(whole.body.equals(FIRMWARE)).toBe(true);
    expect(whole.headers['content-md5']).toBe(md5Hex(FIRMWARE));
    const part = await otaDownload(owner, `assetId=${dev.assetId}`, uri, 'bytes=100-199');
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${FIRMWARE.length}`);
    expect(part.headers['content-length']).toBe('100');
    expect(part.headers['content-md5']).toBeUndefined();
    expect(part.body.equals(FIRMWARE.subarray(100, 200))).toBe(true);
  });

  it('answers getDownloadUrl with category=ota with a link that serves the package', async () => {
    const r = await otaDownload(owner, `assetId=${dev.assetId}`, uri, undefined, 'getDownloadUrl');
    const body = json(r);
    expect(body).toMatchObject({ code: 0, msg: 'OK' });
    expect(body['requestId']).toBeUndefined();
    const link = new URL(body['data'] as string);
    const got = await rawRequest(`${link.protocol}//${link.host}`, { target: link.pathname });
    expect(got.status).toBe(200);
    expect(got.body.equals(FIRMWARE)).toBe(true);
  });

  it('answers 404 for a device of another product, outside the grant, of another organisation, and a feature category', async () => {
    for (const r of [
      await otaDownload(owner, `assetId=${otherProductDev.assetId}`),
      await otaDownload(scopedReader, `assetId=${dev.assetId}`),
      await otaDownload(stranger, 'productKey=pkOtaB&deviceKey=devOta01'),
      await rawRequest(t.url, { target: `/connect-service/v2.1/files?action=download&orgId=${ORG}&fileUri=${uri}&category=feature&assetId=${dev.assetId}`, headers: [['apim-accesstoken', owner.token]] }),
    ]) {
      expect(r.status).toBe(404);
      expect(json<Envelope>(r).code).toBe(99404);
    }
  });

  it('answers 404 once the package is deleted', async () => {
    const del = await t.gql(owner.token, 'mutation { deleteFirmware(productKey: "pkOta", version: "1.2.0") }');
    expect(del.data?.['deleteFirmware']).toBe(true);
    expect((await otaDownload(owner, `assetId=${dev.assetId}`)).status).toBe(404);
  });
});
