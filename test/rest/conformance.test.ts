import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/storage/db';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { POST_ATTRIBUTES, POST_EVENTS, POST_POINTS, postMultipart as gqlMultipart } from '../ingest/fixtures';
import { json, rawRequest, sdkFileName, type Envelope } from './enos-wire';
import { createSampleDevices, sdkPost, type SampleDevice } from './fixtures';

/*
 * One conformance suite per operation: every case runs through GraphQL (on one device) and
 * through the EnOS shim (on a twin device of the same product), and both must leave the same
 * stored result (file URIs compared by content), or fail with corresponding codes and store nothing.
 */

let t: TestApp;
let tenant: Tenant;
let seq = 0;
const T = 1795645363152;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-conformance');
  await createSampleDevices(t, tenant, 'pkConf', []);
});
afterAll(() => t.close());

async function twins(): Promise<[SampleDevice, SampleDevice]> {
  const out: SampleDevice[] = [];
  for (const side of ['g', 's']) {
    const d = await t.gql(tenant.token, 'mutation($i: CreateDeviceInput!) { createDevice(input: $i) { assetId productKey deviceKey } }', { i: { productKey: 'pkConf', deviceKey: `conf${++seq}${side}`, name: `conf ${seq} ${side}` } });
    expect(d.errors).toBeUndefined();
    out.push(d.data!['createDevice'] as SampleDevice);
  }
  return out as [SampleDevice, SampleDevice];
}

const parse = (v: unknown) => (typeof v === 'string' && /^[[{]/.test(v) ? JSON.parse(v) : v);

/** Everything stored for a device, with file URIs replaced by `file:<md5>`. */
async function snapshot(assetId: string): Promise<unknown> {
  const dev = sql`(select id from devices where asset_id = ${assetId})`;
  const files = await queryRows<{ uri: string; md5: string; size_bytes: unknown; original_name: string; feature: string | null }>(
    t.db,
    sql`select f.uri, f.md5, f.size_bytes, f.original_name, m.identifier as feature from files f left join model_features m on m.id = f.feature_id where f.device_id = ${dev} and f.state = 'committed' order by f.md5`,
  );
  const byUri = new Map(files.map((f) => [f.uri, `file:${f.md5}`]));
  const norm = (v: unknown): unknown => JSON.parse(JSON.stringify(parse(v) ?? null).replace(/enos-connect:\/\/[A-Za-z0-9._~:/-]+/g, (u) => byUri.get(u) ?? 'file:missing'));
  const points = await queryRows(t.db, sql`select p.time, m.identifier, p.num, p.bool, p.txt, p.json, p.quality, p.offline from point_data p join model_features m on m.id = p.point_id where p.device_id = ${dev} order by p.time, m.identifier`);
  const latest = await queryRows(t.db, sql`select l.time, m.identifier, l.num, l.bool, l.txt, l.json, l.quality from latest_values l join model_features m on m.id = l.point_id where l.device_id = ${dev} order by m.identifier`);
  const events = await queryRows(t.db, sql`select e.time, m.identifier, e.level, e.params, e.offline from event_data e join model_features m on m.id = e.event_id where e.device_id = ${dev} order by e.time, m.identifier`);
  const attrs = await queryRows(t.db, sql`select m.identifier, a.value from attribute_values a join model_features m on m.id = a.attribute_id where a.device_id = ${dev} order by m.identifier`);
  return norm({ points, latest, events, attrs, files: files.map((f) => ({ md5: f.md5, size: Number(f.size_bytes), name: f.original_name, feature: f.feature })) });
}

type Kind = 'points' | 'attributes' | 'events';
const ACTION: Record<Kind, string> = { points: 'postMeasurepoint', attributes: 'postAttribute', events: 'postEvent' };
const DOC: Record<Kind, string> = { points: POST_POINTS, attributes: POST_ATTRIBUTES, events: POST_EVENTS };

interface Case {
  readonly name: string;
  /** GraphQL items for a device (the shim's params are derived from them). */
  readonly items: (assetId: string) => Record<string, unknown>[];
  readonly files?: readonly { name: string; content: string; feature: string }[];
  readonly offline?: boolean;
  /** Expected failure: GraphQL extensions.code and the shim's envelope code. */
  readonly fails?: { readonly gql: string; readonly enos: number };
}

function toParams(kind: Kind, items: Record<string, unknown>[]): Record<string, unknown>[] {
  return items.map(({ values, events, ...rest }) => (kind === 'points' ? { ...rest, measurepoints: values } : kind === 'attributes' ? { ...rest, attributes: values } : { ...rest, events }));
}

async function viaGraphQL(kind: Kind, c: Case, assetId: string): Promise<string | undefined> {
  const variables = { items: c.items(assetId), ...(kind !== 'attributes' ? { channel: c.offline ? 'OFFLINE' : 'REALTIME' } : {}) };
  const r = c.files?.length
    ? await gqlMultipart(t, tenant.token, DOC[kind], variables, c.files.map((f) => ({ name: f.name, content: f.content })))
    : await t.gql(tenant.token, DOC[kind], variables);
  return r.errors?.[0]?.extensions?.code;
}

async function viaShim(kind: Kind, c: Case, assetId: string): Promise<number> {
  const files = (c.files ?? []).map((f) => ({ name: f.name, content: Buffer.from(f.content), featureId: f.feature }));
  const r = await sdkPost(t, tenant, ACTION[kind], toParams(kind, c.items(assetId)), files, { realtime: !c.offline });
  return json<Envelope>(r).code;
}

function suite(kind: Kind, cases: readonly Case[]) {
  describe(`conformance of ${ACTION[kind]} with the GraphQL mutation`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const [g, s] = await twins();
        const gCode = await viaGraphQL(kind, c, g.assetId);
        const sCode = await viaShim(kind, c, s.assetId);
        expect({ gql: gCode, enos: sCode }).toEqual(c.fails ? { gql: c.fails.gql, enos: c.fails.enos } : { gql: undefined, enos: 0 });
        const [gs, ss] = [await snapshot(g.assetId), await snapshot(s.assetId)];
        expect(ss).toEqual(gs);
        if (c.fails) expect(gs).toMatchObject({ points: [], events: [], attrs: [], files: [] });
      });
    }
  });
}

const f1 = () => sdkFileName('.txt');

suite('points', [
  { name: 'stores numbers and text of several points alike', items: (a) => [{ assetId: a, time: T, values: { IntMeasurePoint1: 5, DoubleMeasurePoint1: 2.25, StringMeasurePoint1: 'héllo <&>' } }] },
  { name: 'stores a value with quality and a time given as a numeric string alike', items: (a) => [{ assetId: a, time: String(T + 1), values: { QualityPoint1: { value: 1.5, quality: 2 } } }] },
  (() => {
    const [n1, n2] = [f1(), f1()];
    return { name: 'stores a FILE point and a file inside a struct alike', items: (a: string) => [{ assetId: a, time: T + 2, values: { FileMeasurePoint1: `local://${n1}`, StructMeasurePoint1: { doc: `local://${n2}`, n: 1 } } }], files: [{ name: n1, content: 'top', feature: 'FileMeasurePoint1' }, { name: n2, content: 'in struct', feature: 'StructMeasurePoint1' }] };
  })(),
  { name: 'keeps offline data out of latest values alike', offline: true, items: (a) => [{ assetId: a, time: T + 3, values: { IntMeasurePoint1: 8 } }] },
  { name: 'refuses a type mismatch alike (MODEL_VIOLATION / 1204)', fails: { gql: 'MODEL_VIOLATION', enos: 1204 }, items: (a) => [{ assetId: a, time: T, values: { IntMeasurePoint1: 1 } }, { assetId: a, time: T + 1, values: { IntMeasurePoint1: 1.5 } }] },
  { name: 'refuses an unknown identifier alike (MODEL_VIOLATION / 1204)', fails: { gql: 'MODEL_VIOLATION', enos: 1204 }, items: (a) => [{ assetId: a, time: T, values: { Nope: 1 } }] },
  { name: 'refuses an unknown device alike (NOT_FOUND / 1257)', fails: { gql: 'NOT_FOUND', enos: 1257 }, items: () => [{ assetId: 'NoSuchAsset', time: T, values: { IntMeasurePoint1: 1 } }] },
]);

suite('attributes', [
  { name: 'stores attribute values alike', items: (a) => [{ assetId: a, values: { IntAttribute1: 42 } }] },
  (() => {
    const n = f1();
    return { name: 'stores a FILE attribute alike', items: (a: string) => [{ assetId: a, values: { FileAttribute1: `local://${n}` } }], files: [{ name: n, content: 'attribute file', feature: 'FileAttribute1' }] };
  })(),
  { name: 'refuses a value outside the model alike (MODEL_VIOLATION / 1204)', fails: { gql: 'MODEL_VIOLATION', enos: 1204 }, items: (a) => [{ assetId: a, values: { IntAttribute1: 'x' } }] },
]);

suite('events', [
  { name: 'stores events alike', items: (a) => [{ assetId: a, time: T, events: { IntEvent1: { struct2: 1234 } } }] },
  (() => {
    const n = f1();
    return { name: 'stores an event with a file parameter alike', items: (a: string) => [{ assetId: a, time: T + 1, events: { FileEvent1: { report: `local://${n}`, code: 3 } } }], files: [{ name: n, content: 'event file', feature: 'FileEvent1' }] };
  })(),
  { name: 'stores offline events alike', offline: true, items: (a) => [{ assetId: a, time: T + 2, events: { IntEvent1: { struct2: 1 } } }] },
  { name: 'refuses an unknown event alike (MODEL_VIOLATION / 1204)', fails: { gql: 'MODEL_VIOLATION', enos: 1204 }, items: (a) => [{ assetId: a, time: T, events: { NoEvent: { x: 1 } } }] },
]);

describe('conformance of files?action=delete with the deleteFile mutation', () => {
  async function withFile(d: SampleDevice): Promise<string> {
    const name = 'doc.txt';
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: d.assetId, time: T, measurepoints: { FileMeasurePoint1: `local://${name}` } }], [{ name, content: Buffer.from('to delete'), featureId: 'FileMeasurePoint1' }]);
    return json<Envelope>(r).data.uriInfoList[0].fileUri as string;
  }
  const shimDelete = (d: SampleDevice, uri: string) => rawRequest(t.url, { method: 'POST', target: `/connect-service/v2.1/files?action=delete&orgId=${tenant.orgId}&fileUri=${uri}&assetId=${d.assetId}`, headers: [['apim-accesstoken', tenant.token], ['Content-Length', '0']] });

  it('deletes a file alike and leaves the stored values alike', async () => {
    const [g, s] = await twins();
    const [ug, us] = [await withFile(g), await withFile(s)];
    const r = await t.gql(tenant.token, 'mutation($d: DeviceRefInput!, $u: String!) { deleteFile(device: $d, uri: $u) }', { d: { assetId: g.assetId }, u: ug });
    expect(r.data?.['deleteFile']).toBe(true);
    expect(json<Envelope>(await shimDelete(s, us))).toMatchObject({ code: 0, data: null });
    expect(await snapshot(s.assetId)).toEqual(await snapshot(g.assetId));
  });

  it('refuses a file of another device alike (NOT_FOUND / 99404)', async () => {
    const [g, s] = await twins();
    const [ug, us] = [await withFile(g), await withFile(s)];
    const r = await t.gql(tenant.token, 'mutation($d: DeviceRefInput!, $u: String!) { deleteFile(device: $d, uri: $u) }', { d: { assetId: g.assetId }, u: us });
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(json<Envelope>(await shimDelete(s, ug)).code).toBe(99404);
    expect(await snapshot(s.assetId)).toEqual(await snapshot(g.assetId));
  });
});
