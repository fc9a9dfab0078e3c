import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { buildMultipart, json, okhttpBoundary, type Envelope } from './enos-wire';
import { createSampleDevices, postMultipart, sdkMessage, sdkPost, type SampleDevice } from './fixtures';

// How many one-point items fit in the default 512 KiB enos-message, per way of naming the device.
// docs/enos-rest-api.md quotes these figures.
const LIMIT = 512 * 1024;
const T0 = 1795645363152;

let t: TestApp;
let admin: Tenant;
let device: SampleDevice;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.tenant('o-batch');
  device = (await createSampleDevices(t, admin, 'pkAbc123', ['dev001']))[0]!;
});
afterAll(() => t.close());

type Item = (i: number) => Record<string, unknown>;
// Field order as the Java SDK writes it (see the wire captures).
const byKeys: Item = (i) => ({ measurepoints: { IntMeasurePoint1: 123 }, deviceKey: device.deviceKey, time: T0 + i, productKey: device.productKey });
const byAssetId: Item = (i) => ({ measurepoints: { IntMeasurePoint1: 123 }, assetId: device.assetId, time: T0 + i });

const messageOf = (item: Item, n: number) => sdkMessage('integration.measurepoint.post', '1', Array.from({ length: n }, (_, i) => item(i)), []);
const sizeOf = (item: Item, n: number) => Buffer.byteLength(messageOf(item, n));

/** The most items whose enos-message stays within the limit. */
function mostThatFit(item: Item): number {
  let lo = 1;
  let hi = 20_000;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (sizeOf(item, mid) <= LIMIT) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

describe('enos-message size limit', () => {
  it.each([
    ['productKey and deviceKey', byKeys, 4_808],
    ['assetId', byAssetId, 6_024],
  ] as const)('accepts the most one-point items named by %s that fit, and refuses one more with 1008 naming the limit', async (_, item, documented) => {
    const n = mostThatFit(item);
    expect(n).toBe(documented);
    const ok = json<Envelope>(await sdkPost(t, admin, 'postMeasurepoint', Array.from({ length: n }, (_, i) => item(i))));
    expect(ok.code).toBe(0);
    const over = json<Envelope>(await sdkPost(t, admin, 'postMeasurepoint', Array.from({ length: n + 1 }, (_, i) => item(i))));
    expect(over.code).toBe(1008);
    expect(over.msg).toBe('the enos-message part is over 524,288 bytes, the limit (ENOS_MESSAGE_MAX_BYTES)');
  });

  it('says how large the part is when it was sent as a file (curl -F enos-message=@msg.json)', async () => {
    const m = messageOf(byKeys, 10_000);
    const boundary = okhttpBoundary();
    const body = buildMultipart(boundary, [{ headers: [['Content-Disposition', 'form-data; name="enos-message"; filename="msg.json"'], ['Content-Type', 'application/json']], body: Buffer.from(m) }]);
    const r = json<Envelope>(await postMultipart(t, admin.token, `/connect-service/v2.1/integration?action=postMeasurepoint&orgId=${admin.orgId}`, boundary, body));
    expect(r.code).toBe(1008);
    expect(r.msg).toBe(`the enos-message part is ${Buffer.byteLength(m).toLocaleString('en-US')} bytes; the limit is 524,288 (ENOS_MESSAGE_MAX_BYTES)`);
  });
});
