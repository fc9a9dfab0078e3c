import { Readable } from 'node:stream';
import type { Permission } from '../../src/auth/permissions';
import { authenticate } from '../../src/server/authenticate';
import { meterModel } from '../fixtures/models';
import type { Tenant, TestApp } from '../helpers/test-app';

/** Objects of one organisation that the matrix operations target. Names are unique per set. */
export interface OrgFixtures {
  readonly orgId: string;
  readonly model: string;
  readonly productKey: string;
  readonly deviceKey: string;
  readonly assetId: string;
  /** A spare service account (for admin operations). */
  readonly saAccessKey: string;
  /** A file stored for the device (its snapshot point). */
  readonly fileUri: string;
  /** A model no product uses and a product without devices (for deletes). */
  readonly spareModel: string;
  readonly spareProductKey: string;
  /** Strings that must never appear in another organisation's responses. */
  readonly markers: readonly string[];
}

let seq = 0;

/** Creates a model, product, device and spare SA in `admin`'s organisation. */
export async function createOrgFixtures(t: TestApp, admin: Tenant): Promise<OrgFixtures> {
  const n = `${admin.orgId.replace(/[^A-Za-z0-9]/g, '')}${++seq}`;
  const model = `IsoModel${n}`;
  const productKey = `pkIso${n}`;
  const deviceKey = `devIso${n}`;
  const m = await t.gql(admin.token, `mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }`, { i: meterModel(model) });
  const p = await t.gql(admin.token, `mutation($k: String!, $m: String!) { createProduct(input: { productKey: $k, name: "iso", modelIdentifier: $m }) { productKey } }`, { k: productKey, m: model });
  const d = await t.gql(admin.token, `mutation($k: String!, $dk: String!) { createDevice(input: { productKey: $k, deviceKey: $dk, name: "iso device" }) { assetId } }`, { k: productKey, dk: deviceKey });
  const s = await t.gql(admin.token, `mutation { createServiceAccount(name: "spare", grants: [{ permission: ASSET_READ }]) { accessKey } }`);
  const spareModel = `IsoSpare${n}`;
  const spareProductKey = `pkSpare${n}`;
  const sm = await t.gql(admin.token, `mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }`, { i: meterModel(spareModel) });
  const sp = await t.gql(admin.token, `mutation($k: String!, $m: String!) { createProduct(input: { productKey: $k, name: "spare", modelIdentifier: $m }) { productKey } }`, { k: spareProductKey, m: model });
  for (const r of [m, p, d, s, sm, sp]) if (r.errors) throw new Error(`fixture setup failed: ${JSON.stringify(r.errors)}`);
  const assetId = d.data!.createDevice.assetId as string;
  const saAccessKey = s.data!.createServiceAccount.accessKey as string;
  // A stored file, posted in process the way the REST shim does (an Upload-like object).
  const file = { promise: Promise.resolve({ filename: 'iso.txt', mimetype: 'text/plain', encoding: '7bit', createReadStream: () => Readable.from([Buffer.from('iso file')]) }) };
  const up = await t.app.deps.executeGraphQL(
    'mutation($items: [PointsItemInput!]!, $files: [FileInput!]) { postMeasurePoints(items: $items, files: $files) { files { uri } } }',
    { items: [{ assetId, time: 1_700_000_000_000, values: { snapshot: 'local://iso.txt' } }], files: [{ name: 'iso.txt', file }] },
    await authenticate(t.app.deps, admin.token),
    'fixtures',
  );
  if (up.errors) throw new Error(`fixture file upload failed: ${JSON.stringify(up.errors)}`);
  const fileUri = (up.data as { postMeasurePoints: { files: { uri: string }[] } }).postMeasurePoints.files[0]!.uri;
  return { orgId: admin.orgId, model, productKey, deviceKey, assetId, saAccessKey, fileUri, spareModel, spareProductKey, markers: [model, productKey, deviceKey, assetId, saAccessKey, spareModel, spareProductKey, fileUri] };
}

/** Every grant except `permission` (and what implies it). */
export function grantsWithout(permission: Permission): { permission: Permission }[] {
  const all: Permission[] = ['ASSET_READ', 'ASSET_WRITE', 'REGISTRY_READ', 'REGISTRY_FULL', 'ORG_ADMIN'];
  const excluded = permission === 'REGISTRY_READ' ? ['REGISTRY_READ', 'REGISTRY_FULL'] : [permission];
  return all.filter((p) => !excluded.includes(p)).map((p) => ({ permission: p }));
}
