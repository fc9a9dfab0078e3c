import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { json, rawRequest, type Envelope } from './enos-wire';
import { createSampleDevices, sdkPost, type SampleDevice } from './fixtures';

/* An operator helping a device maker finds each refusal in the log at the default level. */

const lines: Record<string, unknown>[] = [];
let t: TestApp;
let owner: Tenant;
let scoped: Tenant;
let dev: SampleDevice;
const T = 1795645363152;

beforeAll(async () => {
  const log = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  t = await startTestApp({}, { log });
  owner = await t.tenant('o-refusal-log');
  dev = (await createSampleDevices(t, owner, 'pkRefLog', ['devRef01']))[0]!;
  await createSampleDevices(t, owner, 'pkOther', []);
  scoped = await t.tenant('o-refusal-log', [{ permission: 'ASSET_WRITE', productKeys: ['pkOther'] }]);
});
afterAll(() => t.close());

const refusals = () => lines.filter((l) => l['msg'] === 'enos request refused');

describe('refusal log', () => {
  it('logs a model violation at info with its code, the device and the caller', async () => {
    const r = await sdkPost(t, owner, 'postMeasurepoint', [{ productKey: 'pkRefLog', deviceKey: 'devRef01', time: T, measurepoints: { IntMeasurePoint1: 'not a number' } }]);
    expect(json<Envelope>(r).code).toBe(1204);
    const line = refusals().find((l) => l['code'] === 1204);
    expect(line).toMatchObject({ level: 30, path: '/connect-service/v2.1/integration', action: 'postMeasurepoint', orgId: 'o-refusal-log', accessKey: owner.accessKey, devices: [{ productKey: 'pkRefLog', deviceKey: 'devRef01' }] });
    expect(String(line?.['msg'])).toBe('enos request refused');
  });

  it('logs a device outside the grant (answered as unknown, 1257) with the asset', async () => {
    const r = await sdkPost(t, scoped, 'postMeasurepoint', [{ assetId: dev.assetId, time: T, measurepoints: { IntMeasurePoint1: 1 } }]);
    expect(json<Envelope>(r).code).toBe(1257);
    expect(refusals().find((l) => l['code'] === 1257)).toMatchObject({ accessKey: scoped.accessKey, devices: [{ assetId: dev.assetId }] });
  });

  it('logs a refused download with the device of its query', async () => {
    const r = await rawRequest(t.url, { target: `/connect-service/v2.1/files?action=download&orgId=o-refusal-log&fileUri=enos-connect://none/x.txt&category=feature&assetId=${dev.assetId}`, headers: [['apim-accesstoken', owner.token]] });
    expect(r.status).toBe(404);
    expect(refusals().find((l) => l['action'] === 'download')).toMatchObject({ level: 30, code: 99404, status: 404, assetId: dev.assetId });
  });
});
