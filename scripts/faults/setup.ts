import { Agent } from 'node:http';
import { createOrganisation, createServiceAccount } from '../../src/auth/service-accounts';
import { createSecretBox, parseMasterKey } from '../../src/auth/secret-box';
import { signTokenRequest } from '../../src/auth/tokens';
import { openDatabase } from '../../src/storage/db';
import { send } from './http';

/** Master key of the suite's own database. */
export const FAULTS_MASTER_KEY = '8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677';
/** Organisation of the suite. */
export const ORG = 'o-faults';
/** Points of the suite's thing model: 10 DOUBLEs. */
export const POINTS = Array.from({ length: 10 }, (_, i) => `p${i}`);
/** Product of the suite's devices. */
export const PRODUCT = 'pkFaults';

/** What the scenarios need: a token and the devices' asset ids. */
export interface Fixture {
  readonly token: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly assetIds: readonly string[];
}

/** Creates the organisation and a service account directly in the database (the service has migrated it). */
export async function createTenant(databaseUrl: string): Promise<{ accessKey: string; secretKey: string }> {
  const database = await openDatabase({ url: databaseUrl, dataDir: '', poolMax: 1 });
  try {
    await createOrganisation(database.db, { id: ORG, name: 'Fault suite' });
    const box = createSecretBox(parseMasterKey(FAULTS_MASTER_KEY));
    const { serviceAccount, secretKey } = await createServiceAccount(database.db, box, { orgId: ORG, name: 'faults', grants: [{ permission: 'REGISTRY_FULL' }, { permission: 'ASSET_WRITE' }, { permission: 'ASSET_READ' }] });
    return { accessKey: serviceAccount.accessKey, secretKey };
  } finally {
    await database.close();
  }
}

/** A token over the EnOS token route. */
export async function getToken(url: string, accessKey: string, secretKey: string): Promise<string> {
  const timestamp = String(Date.now());
  const r = await fetch(`${url}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: accessKey, encryption: signTokenRequest(accessKey, timestamp, secretKey), timestamp }) });
  const body = (await r.json()) as { data?: { accessToken?: string }; msg?: string };
  if (!body.data?.accessToken) throw new Error(`token refused: ${body.msg}`);
  return body.data.accessToken;
}

/** Runs a GraphQL operation; throws on errors. */
export async function gql(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const r = await send(new Agent(), url, 'POST', '/graphql', { 'content-type': 'application/json', authorization: `Bearer ${token}` }, JSON.stringify({ query, variables }));
  const body = JSON.parse(r.body || '{}') as { data?: Record<string, any>; errors?: unknown };
  if (body.errors || r.status !== 200) throw new Error(`${r.status} ${JSON.stringify(body.errors)}`);
  return body.data!;
}

/** Creates the model, product and `devices` devices. */
export async function createDevices(url: string, token: string, devices: number): Promise<string[]> {
  await gql(url, token, 'mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }', { i: { identifier: 'Faults', name: 'Faults', measurePoints: POINTS.map((p) => ({ identifier: p, type: { dataType: 'DOUBLE' } })) } });
  await gql(url, token, 'mutation($i: CreateProductInput!) { createProduct(input: $i) { productKey } }', { i: { productKey: PRODUCT, name: 'Faults', modelIdentifier: 'Faults' } });
  const ids: string[] = [];
  for (let k = 0; k < devices; k++) ids.push((await gql(url, token, 'mutation($i: CreateDeviceInput!) { createDevice(input: $i) { assetId } }', { i: { productKey: PRODUCT, deviceKey: `dev${k}`, name: `dev${k}` } }))['createDevice'].assetId);
  return ids;
}

/** The ingest mutation the scenarios post. */
export const POST_POINTS = 'mutation($items: [PointsItemInput!]!) { postMeasurePoints(items: $items) { accepted } }';

/** A postMeasurePoints body of one value per point for every device, all at `time` (100 values with 10 devices). */
export function batchBody(assetIds: readonly string[], time: number): string {
  const items = assetIds.map((assetId) => ({ assetId, time, values: Object.fromEntries(POINTS.map((p, i) => [p, time / 1000 + i])) }));
  return JSON.stringify({ query: POST_POINTS, variables: { items } });
}

/** Whether an ingest response acknowledged all of `expected` values. */
export function acknowledged(status: number, body: string, expected: number): boolean {
  if (status !== 200) return false;
  try {
    return (JSON.parse(body) as { data?: { postMeasurePoints?: { accepted?: number } } }).data?.postMeasurePoints?.accepted === expected;
  } catch {
    return false;
  }
}
