import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/server/authenticate';
import { startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { POST_POINTS, setupDevices } from './fixtures';

let t: TestApp;
let org: Tenant;
let assets: string[];

beforeAll(async () => {
  t = await startTestApp();
  org = await t.tenant('o-inproc');
  assets = await setupDevices(t, org, 'pkInproc', 1);
});
afterAll(() => t.close());

describe('executeGraphQL (the REST shim\'s entry point)', () => {
  it('runs an ingest mutation with an Upload-like file object and returns the stored URI', async () => {
    const access = await authenticate(t.app.deps, org.token);
    const file = { promise: Promise.resolve({ filename: 'spooled.txt', mimetype: 'text/plain', encoding: '7bit', createReadStream: () => Readable.from([Buffer.from('spooled content')]) }) };
    const r = await t.app.deps.executeGraphQL(POST_POINTS, { items: [{ assetId: assets[0], time: 1_700_000_000_000, values: { file: 'local://s.txt' } }], files: [{ name: 's.txt', file }] }, access, 'req-1');
    expect(r.errors).toBeUndefined();
    const res = (r.data as any).postMeasurePoints;
    expect(res.files[0]).toMatchObject({ name: 's.txt', sizeBytes: 15 });
    const dl = await fetch(`${t.url}/files/${res.files[0].uri.slice('enos-connect://'.length)}`, { headers: { authorization: `Bearer ${org.token}` } });
    expect(await dl.text()).toBe('spooled content');
  });

  it('returns refusals with extensions.code and details, as over HTTP', async () => {
    const access = await authenticate(t.app.deps, org.token);
    const r = await t.app.deps.executeGraphQL(POST_POINTS, { items: [{ assetId: 'nope', time: 1, values: { i: 1 } }] }, access, 'req-2');
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', details: { errors: [{ index: 0, code: 'DEVICE_NOT_FOUND' }] } });
  });
});
