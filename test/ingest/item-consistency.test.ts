import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/storage/db';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { json, type Envelope } from '../rest/enos-wire';
import { createSampleDevices, sdkPost, type SampleDevice } from '../rest/fixtures';

let t: TestApp;
let tenant: Tenant;
let other: Tenant;
let mine: SampleDevice[];
let theirs: SampleDevice;
const T0 = 1_795_645_363_000;

const POST_POINTS = `mutation($items: [PointsItemInput!]!, $mode: IngestMode) {
  postMeasurePoints(items: $items, mode: $mode) { accepted rejected errors { index code reason } superseded { index identifier byIndex } } }`;
const POST_ATTRIBUTES = `mutation($items: [AttributesItemInput!]!) { postAttributes(items: $items) { accepted superseded { index identifier byIndex } } }`;
const POST_EVENTS = `mutation($items: [EventsItemInput!]!) { postEvents(items: $items) { accepted superseded { index identifier byIndex } } }`;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-consistency');
  other = await t.tenant('o-consistency-other');
  mine = await createSampleDevices(t, tenant, 'pkConsist', ['cons1', 'cons2']);
  theirs = (await createSampleDevices(t, other, 'pkConsistOther', ['othr1']))[0]!;
});
afterAll(() => t.close());

async function pointRows(assetId: string, time: number) {
  return queryRows<{ num: number }>(
    t.db,
    sql`select pd.num from point_data pd join devices d on d.id = pd.device_id join model_features f on f.id = pd.point_id
        where d.asset_id = ${assetId} and f.identifier = 'IntMeasurePoint1' and pd.time = ${new Date(time).toISOString()}::timestamptz`,
  );
}

describe('an item naming its device twice', () => {
  it('refuses an assetId and the keys of another device of the organisation, over GraphQL', async () => {
    const r = await t.gql(tenant.token, POST_POINTS, { items: [{ assetId: mine[0]!.assetId, productKey: mine[1]!.productKey, deviceKey: mine[1]!.deviceKey, time: T0, values: { IntMeasurePoint1: 1 } }] });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toMatch(/item 0: .*name different devices/);
    expect(await pointRows(mine[0]!.assetId, T0)).toEqual([]);
    expect(await pointRows(mine[1]!.assetId, T0)).toEqual([]);
  });

  it('refuses an assetId and another organisation\'s keys per item in PARTIAL mode, storing the consistent items', async () => {
    const r = await t.gql(tenant.token, POST_POINTS, {
      mode: 'PARTIAL',
      items: [
        { assetId: mine[0]!.assetId, productKey: theirs.productKey, deviceKey: theirs.deviceKey, time: T0 + 1, values: { IntMeasurePoint1: 2 } },
        { assetId: mine[1]!.assetId, productKey: mine[1]!.productKey, deviceKey: mine[1]!.deviceKey, time: T0 + 1, values: { IntMeasurePoint1: 3 } },
        { assetId: mine[0]!.assetId, deviceKey: mine[1]!.deviceKey, time: T0 + 1, values: { IntMeasurePoint1: 4 } },
      ],
    });
    expect(r.errors).toBeUndefined();
    const res = r.data!['postMeasurePoints'];
    expect(res.accepted).toBe(1);
    expect(res.errors.map((e: { index: number; code: string }) => [e.index, e.code])).toEqual([
      [0, 'BAD_ITEM'],
      [2, 'BAD_ITEM'],
    ]);
    expect(await pointRows(mine[0]!.assetId, T0 + 1)).toEqual([]);
    expect(await pointRows(mine[1]!.assetId, T0 + 1)).toEqual([{ num: 3 }]);
    expect(await pointRows(theirs.assetId, T0 + 1)).toEqual([]);
  });

  it('refuses the contradiction over the EnOS REST API', async () => {
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [{ assetId: mine[0]!.assetId, productKey: theirs.productKey, deviceKey: theirs.deviceKey, time: T0 + 2, measurepoints: { IntMeasurePoint1: 5 } }]);
    const body = json<Envelope>(r);
    expect(body.code).not.toBe(0);
    expect(body.msg).toMatch(/name different devices/);
    expect(await pointRows(mine[0]!.assetId, T0 + 2)).toEqual([]);
    expect(await pointRows(theirs.assetId, T0 + 2)).toEqual([]);
  });
});

describe('the same key twice in one request', () => {
  it('stores the last value, counts it once and reports the replaced one, over GraphQL', async () => {
    const r = await t.gql(tenant.token, POST_POINTS, {
      items: [
        { assetId: mine[0]!.assetId, time: T0 + 10, values: { IntMeasurePoint1: 1, DoubleMeasurePoint1: 1.5 } },
        { assetId: mine[0]!.assetId, time: T0 + 10, values: { IntMeasurePoint1: 2 } },
        { assetId: mine[1]!.assetId, time: T0 + 10, values: { IntMeasurePoint1: 9 } },
      ],
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!['postMeasurePoints']).toMatchObject({ accepted: 3, superseded: [{ index: 0, identifier: 'IntMeasurePoint1', byIndex: 1 }] });
    expect(await pointRows(mine[0]!.assetId, T0 + 10)).toEqual([{ num: 2 }]);
    const [stored] = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data where time = ${new Date(T0 + 10).toISOString()}::timestamptz`);
    expect(stored!.n).toBe(3);
  });

  it('counts attributes and events as stored', async () => {
    const a = await t.gql(tenant.token, POST_ATTRIBUTES, { items: [{ assetId: mine[0]!.assetId, values: { IntAttribute1: 1 } }, { assetId: mine[0]!.assetId, values: { IntAttribute1: 2 } }] });
    expect(a.data!['postAttributes']).toEqual({ accepted: 1, superseded: [{ index: 0, identifier: 'IntAttribute1', byIndex: 1 }] });
    const [attr] = await queryRows<{ value: unknown }>(t.db, sql`select av.value from attribute_values av join devices d on d.id = av.device_id where d.asset_id = ${mine[0]!.assetId}`);
    expect(JSON.stringify(attr!.value)).toBe('2');
    const e = await t.gql(tenant.token, POST_EVENTS, { items: [{ assetId: mine[0]!.assetId, time: T0, events: { IntEvent1: { struct2: 1 } } }, { assetId: mine[0]!.assetId, time: T0, events: { IntEvent1: { struct2: 2 } } }] });
    expect(e.data!['postEvents']).toEqual({ accepted: 1, superseded: [{ index: 0, identifier: 'IntEvent1', byIndex: 1 }] });
  });

  it('stores the last value of a repeated key sent over the EnOS REST API', async () => {
    const r = await sdkPost(t, tenant, 'postMeasurepoint', [
      { assetId: mine[1]!.assetId, time: T0 + 20, measurepoints: { IntMeasurePoint1: 7 } },
      { productKey: mine[1]!.productKey, deviceKey: mine[1]!.deviceKey, time: T0 + 20, measurepoints: { IntMeasurePoint1: 8 } },
    ]);
    expect(json<Envelope>(r).code).toBe(0);
    expect(await pointRows(mine[1]!.assetId, T0 + 20)).toEqual([{ num: 8 }]);
  });
});
