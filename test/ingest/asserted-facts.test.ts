import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyToken } from '../../src/auth/tokens';
import { assertFacts, StaleFacts, type WriteFacts } from '../../src/ingest/remembered-facts';
import type { IngestDevice } from '../../src/ingest/resolve-devices';
import { tokenConfirmation } from '../../src/server/authenticate';
import { queryRows } from '../../src/storage/db';
import { commitBehind, allowCommitBehind } from '../../src/storage/pipelined-transaction';
import { startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { setupDevices } from './fixtures';

/*
 * A write transaction asserts on the server what its calls took from memory (the caller behind
 * the token, the devices), so that its COMMIT can travel with its writes. The assertion must fail
 * on every change that reading the facts back would catch, and a failed assertion must leave
 * nothing of the transaction stored.
 */

let t: TestApp;
let org: Tenant;
let assets: string[];

beforeAll(async () => {
  t = await startTestApp();
  org = await t.tenant('o-assert');
  assets = await setupDevices(t, org, 'pkAssert', 4);
});
afterAll(() => t.close());

/** A device as ingest remembers it, read now. */
async function device(assetId: string): Promise<IngestDevice> {
  const [r] = await queryRows<{ id: number; product_key: string; device_key: string; model_id: number; version: number; enabled: boolean }>(
    t.db,
    sql`select d.id, p.product_key, d.device_key, p.model_id, m.version, d.enabled from devices d join products p on p.id = d.product_id join thing_models m on m.id = p.model_id where d.asset_id = ${assetId}`,
  );
  return { id: Number(r!.id), assetId, productKey: r!.product_key, deviceKey: r!.device_key, modelId: Number(r!.model_id), modelVersion: Number(r!.version), enabled: r!.enabled, status: 'online', measurepointLastUpdate: null, attributeLastUpdate: null, eventLastUpdate: null };
}

/** The facts of a call by `tenant` that took its caller (as the database holds it now) and `devices` from memory. */
async function factsOf(tenant: Tenant, devices: readonly IngestDevice[], orgId = tenant.orgId): Promise<WriteFacts> {
  const caller = await verifyToken(t.db, tenant.token);
  const confirmation = tokenConfirmation(t.app.deps, tenant.token, caller!);
  return { caller: [confirmation!], devices: { orgId, devices } };
}

const outcome = (facts: readonly WriteFacts[]) => assertFacts(t.db, facts).then(() => 'held', (e: unknown) => (e instanceof StaleFacts ? 'stale' : e));

describe('facts asserted by a write transaction', () => {
  it('hold while nothing changed, for several calls at once', async () => {
    const d = await Promise.all(assets.slice(0, 2).map(device));
    expect(await outcome([await factsOf(org, [d[0]!]), await factsOf(org, d), {}])).toBe('held');
    expect(await outcome([])).toBe('held');
  });

  it('fail when a remembered device changed in any way the lookup reads', async () => {
    const d = await device(assets[0]!);
    const changed: Partial<IngestDevice>[] = [{ enabled: !d.enabled }, { modelVersion: d.modelVersion + 1 }, { modelId: d.modelId + 1000 }, { deviceKey: 'other' }, { productKey: 'other' }, { assetId: 'other' }, { id: d.id + 1000 }];
    for (const c of changed) expect(await outcome([await factsOf(org, [{ ...d, ...c }])]), JSON.stringify(c)).toBe('stale');
  });

  it('fail when the device is another organisation’s', async () => {
    const other = await t.tenant('o-assert-other');
    expect(await outcome([await factsOf(other, [await device(assets[0]!)], other.orgId)])).toBe('stale');
  });

  it('fail in a shared transaction when only one call’s fact changed', async () => {
    const d = await device(assets[1]!);
    expect(await outcome([await factsOf(org, [d]), await factsOf(org, [{ ...d, enabled: false }])])).toBe('stale');
  });

  it('fail once the caller’s grants changed or its account was disabled', async () => {
    const sa = await t.tenant('o-assert', [{ permission: 'ASSET_WRITE' }]);
    const facts = await factsOf(sa, []);
    expect(await outcome([facts])).toBe('held');
    const g = await t.gql(org.token, 'mutation($s: ID!, $g: [GrantInput!]!) { updateServiceAccountGrants(accessKey: $s, grants: $g) { accessKey } }', { s: sa.accessKey, g: [{ permission: 'ASSET_READ' }] });
    expect(g.errors).toBeUndefined();
    expect(await outcome([facts])).toBe('stale');
    const fresh = await factsOf(sa, []);
    expect(await outcome([fresh])).toBe('held');
    expect((await t.gql(org.token, 'mutation($s: ID!) { disableServiceAccount(accessKey: $s) { enabled } }', { s: sa.accessKey })).errors).toBeUndefined();
    expect(await outcome([fresh])).toBe('stale');
  });

  it('store nothing of a transaction whose COMMIT travelled behind a failed assertion', async () => {
    const d = await device(assets[2]!);
    const time = new Date(1_700_000_000_000).toISOString();
    const write = (facts: WriteFacts) =>
      t.app.deps.database.writeTransaction(async (tx) => {
        const asserted = assertFacts(tx, [facts]);
        asserted.catch(() => {});
        allowCommitBehind(tx);
        const inserted = queryRows(tx, sql`insert into latest_values (device_id, point_id, time, num, updated_at) select ${d.id}, f.id, ${time}::timestamptz, 1, now() from model_features f where f.model_id = ${d.modelId} and f.identifier = 'i' returning 1`);
        commitBehind(tx);
        await Promise.allSettled([asserted, inserted]);
        await asserted;
        await inserted;
      });
    await expect(write(await factsOf(org, [{ ...d, modelVersion: d.modelVersion + 1 }]))).rejects.toBeInstanceOf(StaleFacts);
    const stored = async () => (await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from latest_values where device_id = ${d.id}`))[0]!.n;
    expect(await stored()).toBe(0);
    await write(await factsOf(org, [d]));
    expect(await stored()).toBe(1);
  });
});
