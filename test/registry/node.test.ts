import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { createSampleDevices, SAMPLE_MODEL, type SampleDevice } from '../rest/fixtures';

let t: TestApp;
let acme: Tenant;
let other: Tenant;
let device: SampleDevice;

beforeAll(async () => {
  t = await startTestApp();
  acme = await t.tenant('o-node-acme');
  other = await t.tenant('o-node-other');
  device = (await createSampleDevices(t, acme, 'pkNode', ['devNode01']))[0]!;
  // The other organisation has a model under the same identifier (product keys are unique per instance).
  await createSampleDevices(t, other, 'pkNodeOther', ['devNode01']);
});
afterAll(() => t.close());

const IDS = `query($assetId: ID!, $productKey: ID!) {
  device(assetId: $assetId) { id assetId }
  product(productKey: $productKey) { id productKey }
  thingModel(identifier: "${SAMPLE_MODEL.identifier}") { id identifier }
  serviceAccounts { id accessKey }
}`;
const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on Device { assetId } ... on Product { productKey } ... on ThingModel { identifier } ... on ServiceAccount { accessKey } } }`;

async function idsOf(tenant: Tenant, assetId: string, productKey = 'pkNode') {
  const r = await t.gql(tenant.token, IDS, { assetId, productKey });
  expect(r.errors).toBeUndefined();
  const d = r.data!;
  const sa = (d['serviceAccounts'] as { id: string; accessKey: string }[]).find((s) => s.accessKey === tenant.accessKey)!;
  return { device: d['device'].id as string, product: d['product'].id as string, model: d['thingModel'].id as string, sa: sa.id };
}

describe('Node and global ids', () => {
  it('gives every entity a distinct global id that node() resolves to the same object', async () => {
    const ids = await idsOf(acme, device.assetId);
    expect(new Set(Object.values(ids)).size).toBe(4);
    const expected: Record<string, Record<string, string>> = {
      [ids.device]: { __typename: 'Device', assetId: device.assetId },
      [ids.product]: { __typename: 'Product', productKey: 'pkNode' },
      [ids.model]: { __typename: 'ThingModel', identifier: SAMPLE_MODEL.identifier },
      [ids.sa]: { __typename: 'ServiceAccount', accessKey: acme.accessKey },
    };
    for (const [id, fields] of Object.entries(expected)) {
      const r = await t.gql(acme.token, NODE, { id });
      expect(r.errors).toBeUndefined();
      expect(r.data!['node']).toEqual({ id, ...fields });
    }
  });

  it("resolves another organisation's ids to null, even where the same model identifier exists in the caller's", async () => {
    const theirs = await idsOf(other, (await t.gql(other.token, '{ devices { edges { node { assetId } } } }')).data!['devices'].edges[0].node.assetId, 'pkNodeOther');
    for (const id of Object.values(theirs)) {
      const r = await t.gql(acme.token, NODE, { id });
      expect(r.errors).toBeUndefined();
      expect(r.data!['node']).toBeNull();
    }
  });

  it('answers null for an id that does not exist or that this service did not issue', async () => {
    const gone = Buffer.from(`Device:o-node-acme:no-such-asset`).toString('base64url');
    for (const id of [gone, 'not-a-global-id', Buffer.from('Organisation:o-node-acme:x').toString('base64url'), '']) {
      const r = await t.gql(acme.token, NODE, { id });
      expect(r.errors).toBeUndefined();
      expect(r.data!['node']).toBeNull();
    }
  });

  it("applies the type's own permission: a caller without REGISTRY_READ gets FORBIDDEN, as from device()", async () => {
    const ids = await idsOf(acme, device.assetId);
    const writer = await t.tenant('o-node-acme', [{ permission: 'ASSET_WRITE' }]);
    const viaNode = await t.gql(writer.token, NODE, { id: ids.device });
    const viaDevice = await t.gql(writer.token, 'query($a: ID!) { device(assetId: $a) { assetId } }', { a: device.assetId });
    expect(errorCode(viaDevice)).toBe('FORBIDDEN');
    expect(errorCode(viaNode)).toBe('FORBIDDEN');
    const sa = await t.gql(writer.token, NODE, { id: ids.sa });
    expect(errorCode(sa)).toBe('FORBIDDEN');
  });
});
