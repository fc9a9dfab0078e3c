import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/storage/db';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { POST_ATTRIBUTES, POST_EVENTS, setupDevices } from './fixtures';

let t: TestApp;
let org: Tenant;
let assets: string[];
const T0 = 1_700_000_000_000;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.tenant('o-attrs');
  assets = await setupDevices(t, org, 'pkAttrs', 2);
});
afterAll(() => t.close());

describe('postAttributes', () => {
  it('stores current values and records only changes in the history', async () => {
    const send = (values: Record<string, unknown>) => t.gql(org.token, POST_ATTRIBUTES, { items: [{ assetId: assets[0], values }] });
    expect((await send({ label: 'a', level: 1 })).data?.['postAttributes']).toMatchObject({ accepted: 2, rejected: 0 });
    await new Promise((r) => setTimeout(r, 5));
    await send({ label: 'a', level: 2 });
    const d = await t.gql(org.token, `{ device(assetId: "${assets[0]}") { attributes attributeLastUpdate } }`);
    expect(d.data?.['device']?.attributes).toMatchObject({ label: 'a', level: 2 });
    expect(d.data?.['device']?.attributeLastUpdate).toBeTruthy();
    const hist = await queryRows<{ identifier: string; n: number }>(
      t.db,
      sql`select f.identifier, count(*)::int as n from attribute_history h join model_features f on f.id = h.attribute_id join devices d on d.id = h.device_id where d.asset_id = ${assets[0]} group by 1 order by 1`,
    );
    expect(hist).toEqual([
      { identifier: 'label', n: 1 },
      { identifier: 'level', n: 2 },
    ]);
  });

  it('refuses an attribute value of the wrong type and an unknown attribute', async () => {
    const r = await t.gql(org.token, POST_ATTRIBUTES, { items: [{ assetId: assets[0], values: { level: 'x' } }] });
    expect(errorCode(r)).toBe('MODEL_VIOLATION');
    const r2 = await t.gql(org.token, POST_ATTRIBUTES, { items: [{ assetId: assets[0], values: { nope: 1 } }] });
    expect((r2.errors?.[0]?.extensions?.details as any).errors[0]).toMatchObject({ code: 'UNKNOWN_IDENTIFIER', identifier: 'nope' });
  });
});

describe('postEvents', () => {
  it('stores events with their level and output parameters, replacing a re-sent one', async () => {
    const items = [{ assetId: assets[1], time: T0, events: { alarm: { code: 7, msg: 'hot' } } }];
    expect((await t.gql(org.token, POST_EVENTS, { items })).data?.['postEvents']).toMatchObject({ accepted: 1 });
    const again = [{ productKey: 'pkAttrs', deviceKey: 'dev1', time: T0, events: { alarm: { code: 8 } } }];
    expect((await t.gql(org.token, POST_EVENTS, { items: again })).errors).toBeUndefined();
    const rows = await queryRows<{ level: string; params: unknown }>(t.db, sql`select level, params from event_data e join devices d on d.id = e.device_id where d.asset_id = ${assets[1]}`);
    expect(rows).toEqual([{ level: 'WARN', params: { code: 8 } }]);
  });

  it('refuses an event missing a required parameter, or with a bad one', async () => {
    const r = await t.gql(org.token, POST_EVENTS, { items: [{ assetId: assets[1], time: T0, events: { alarm: { msg: 'x' } } }] });
    expect((r.errors?.[0]?.extensions?.details as any).errors[0]).toMatchObject({ code: 'TYPE_MISMATCH', identifier: 'alarm' });
    const r2 = await t.gql(org.token, POST_EVENTS, { items: [{ assetId: assets[1], time: T0, events: { alarm: { code: 'x' } } }] });
    expect(r2.errors?.[0]?.message).toMatch(/alarm\.code/);
    const r3 = await t.gql(org.token, POST_EVENTS, { items: [{ assetId: assets[1], time: T0, events: { boom: {} } }] });
    expect((r3.errors?.[0]?.extensions?.details as any).errors[0]).toMatchObject({ code: 'UNKNOWN_IDENTIFIER', identifier: 'boom' });
  });

  it('stores offline events flagged as offline', async () => {
    await t.gql(org.token, POST_EVENTS, { items: [{ assetId: assets[1], time: T0 + 1, events: { alarm: { code: 1 } } }], channel: 'OFFLINE' });
    const rows = await queryRows<{ offline: boolean }>(t.db, sql`select offline from event_data where time = ${new Date(T0 + 1).toISOString()}::timestamptz`);
    expect(rows).toEqual([{ offline: true }]);
  });
});
