import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/storage/db';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { POST_ATTRIBUTES, POST_EVENTS, POST_POINTS, postMultipart, setupDevices } from './fixtures';

let t: TestApp;
let owner: Tenant;
let other: Tenant;
let assets: string[];
let otherAssets: string[];
let uri: string;
const T0 = 1_700_000_000_000;
const DELETE = 'mutation($d: DeviceRefInput!, $u: String!) { deleteFile(device: $d, uri: $u) }';
const LIST = 'query($d: DeviceRefInput!) { deviceFiles(device: $d) { uri } }';

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.tenant('o-owner');
  other = await t.tenant('o-other');
  assets = await setupDevices(t, owner, 'pkOwner', 2);
  otherAssets = await setupDevices(t, other, 'pkOther', 1);
  const r = await postMultipart(t, owner.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0, values: { file: 'local://f.txt' } }] }, [{ name: 'f.txt', content: 'secret' }]);
  uri = r.data?.['postMeasurePoints'].files[0].uri;
});
afterAll(() => t.close());

const pointCount = async (assetId: string) => (await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data p join devices d on d.id = p.device_id where d.asset_id = ${assetId}`))[0]?.n;

describe('another organisation', () => {
  it('cannot write points, attributes or events to this organisation\'s devices (DEVICE_NOT_FOUND)', async () => {
    const before = await pointCount(assets[1]!);
    const p = await t.gql(other.token, POST_POINTS, { items: [{ assetId: assets[1], time: T0, values: { i: 1 } }] });
    expect(errorCode(p)).toBe('NOT_FOUND');
    expect((p.errors?.[0]?.extensions?.details as any).errors[0].code).toBe('DEVICE_NOT_FOUND');
    const byKey = await t.gql(other.token, POST_POINTS, { items: [{ productKey: 'pkOwner', deviceKey: 'dev1', time: T0, values: { i: 1 } }] });
    expect(errorCode(byKey)).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(other.token, POST_ATTRIBUTES, { items: [{ assetId: assets[1], values: { level: 1 } }] }))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(other.token, POST_EVENTS, { items: [{ assetId: assets[1], time: T0, events: { alarm: { code: 1 } } }] }))).toBe('NOT_FOUND');
    expect(await pointCount(assets[1]!)).toBe(before);
  });

  it('cannot reference, download, list or delete this organisation\'s files', async () => {
    const ref = await t.gql(other.token, POST_POINTS, { items: [{ assetId: otherAssets[0], time: T0, values: { file: uri } }] });
    expect((ref.errors?.[0]?.extensions?.details as any).errors[0].code).toBe('FILE_MISSING');
    const dl = await fetch(`${t.url}/files/${uri.slice('enos-connect://'.length)}`, { headers: { authorization: `Bearer ${other.token}` } });
    expect(dl.status).toBe(404);
    expect(errorCode(await t.gql(other.token, LIST, { d: { assetId: assets[0] } }))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(other.token, DELETE, { d: { assetId: assets[0] }, u: uri }))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(other.token, DELETE, { d: { assetId: otherAssets[0] }, u: uri }))).toBe('NOT_FOUND');
    const mine = await fetch(`${t.url}/files/${uri.slice('enos-connect://'.length)}`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(await mine.text()).toBe('secret');
  });
});

describe('grants', () => {
  it('refuses every ingest mutation and deleteFile without ASSET_WRITE (FORBIDDEN)', async () => {
    const reader = await t.tenant('o-owner', [{ permission: 'ASSET_READ' }]);
    expect(errorCode(await t.gql(reader.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0, values: { i: 1 } }] }))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(reader.token, POST_ATTRIBUTES, { items: [{ assetId: assets[0], values: { level: 1 } }] }))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(reader.token, POST_EVENTS, { items: [{ assetId: assets[0], time: T0, events: { alarm: { code: 1 } } }] }))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(reader.token, DELETE, { d: { assetId: assets[0] }, u: uri }))).toBe('FORBIDDEN');
    // Reading is allowed with ASSET_READ.
    const dl = await fetch(`${t.url}/files/${uri.slice('enos-connect://'.length)}`, { headers: { authorization: `Bearer ${reader.token}` } });
    expect(dl.status).toBe(200);
    expect((await t.gql(reader.token, LIST, { d: { assetId: assets[0] } })).data?.['deviceFiles']).toHaveLength(1);
  });

  it('refuses downloads and listing without ASSET_READ (FORBIDDEN)', async () => {
    const writer = await t.tenant('o-owner', [{ permission: 'ASSET_WRITE' }]);
    const dl = await fetch(`${t.url}/files/${uri.slice('enos-connect://'.length)}`, { headers: { authorization: `Bearer ${writer.token}` } });
    expect(dl.status).toBe(403);
    expect(errorCode(await t.gql(writer.token, LIST, { d: { assetId: assets[0] } }))).toBe('FORBIDDEN');
  });

  it('limits a scoped ASSET_WRITE grant to its devices', async () => {
    const scoped = await t.tenant('o-owner', [{ permission: 'ASSET_WRITE', assetIds: [assets[1]!] }, { permission: 'ASSET_READ' }]);
    const ok = await t.gql(scoped.token, POST_POINTS, { items: [{ assetId: assets[1], time: T0 + 1, values: { i: 1 } }] });
    expect(ok.errors).toBeUndefined();
    const denied = await t.gql(scoped.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0 + 1, values: { i: 1 } }, { assetId: assets[1], time: T0 + 2, values: { i: 1 } }] });
    expect(errorCode(denied)).toBe('FORBIDDEN');
    expect((denied.errors?.[0]?.extensions?.details as any).errors).toEqual([{ index: 0, identifier: null, code: 'FORBIDDEN', reason: `missing permission ASSET_WRITE on assetId ${assets[0]}` }]);
    const partial = await t.gql(scoped.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0 + 3, values: { i: 1 } }, { assetId: assets[1], time: T0 + 3, values: { i: 1 } }], mode: 'PARTIAL' });
    expect(partial.data?.['postMeasurePoints']).toMatchObject({ accepted: 1, rejected: 1 });
    expect(errorCode(await t.gql(scoped.token, DELETE, { d: { assetId: assets[0] }, u: uri }))).toBe('FORBIDDEN');
  });

  it('reports a device outside every scope of the caller as not found', async () => {
    const narrow = await t.tenant('o-owner', [{ permission: 'ASSET_WRITE', assetIds: [assets[1]!] }]);
    const r = await t.gql(narrow.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0, values: { i: 1 } }] });
    expect((r.errors?.[0]?.extensions?.details as any).errors[0].code).toBe('DEVICE_NOT_FOUND');
    const dl = await fetch(`${t.url}/files/${uri.slice('enos-connect://'.length)}`, { headers: { authorization: `Bearer ${narrow.token}` } });
    expect([403, 404]).toContain(dl.status);
  });
});
