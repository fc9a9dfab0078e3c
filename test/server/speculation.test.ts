import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/storage/db';
import { ALL_GRANTS, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { FLEET_MODEL, insertPoints, seedFleet, type Fleet } from '../fixtures/seed-data';

/*
 * Read-only queries over HTTP start from the caller and devices this instance last saw confirmed
 * (src/auth/speculation.ts). These tests change the facts on one instance and read through another
 * that still remembers them: every change must show at once, as if nothing were remembered.
 */

const T0 = Date.UTC(2026, 2, 3);
const HISTORY = `query($a: ID!) { pointHistory(devices: { assetIds: [$a] }, points: ["power"], from: ${T0}, to: ${T0 + 60_000}) { columns { timesJson valuesJson } } }`;
const POST = `mutation($items: [PointsItemInput!]!) { postMeasurePoints(items: $items) { accepted } }`;

let writer: TestApp;
let reader: TestApp;
let admin: Tenant;
let fleet: Fleet;

beforeAll(async () => {
  writer = await startTestApp();
  reader = await startTestApp({}, { tdb: writer.tdb });
  admin = await writer.tenant('o-spec', ALL_GRANTS);
  fleet = await seedFleet(writer.db, 'o-spec', { productKey: 'spec-inv', count: 4 });
  await insertPoints(writer.db, [{ deviceId: fleet.devices[0]!.id, pointId: fleet.points['power']!, time: T0, value: 1.5, quality: 0 }]);
});
afterAll(async () => {
  await reader.close();
  await writer.close();
});

/** Reads the history of a device twice on the reader, so that it remembers the token and the device. */
async function warm(token: string, assetId: string) {
  for (let i = 0; i < 2; i++) expect((await reader.gql(token, HISTORY, { a: assetId })).errors).toBeUndefined();
}

describe('speculative reads', () => {
  it('remembers the callers and devices it confirmed, and answers as before', async () => {
    const sa = await writer.tenant('o-spec', [{ permission: 'ASSET_READ' }]);
    await warm(sa.token, fleet.devices[0]!.assetId);
    expect(reader.app.deps.speculation.callers.has(sa.token)).toBe(true);
    expect(reader.app.deps.speculation.facts.size).toBeGreaterThan(0);
    const r = await reader.gql(sa.token, HISTORY, { a: fleet.devices[0]!.assetId });
    expect(r.data!.pointHistory.columns).toEqual({ timesJson: [T0], valuesJson: [1.5] });
  });

  it('refuses a token revoked on another instance at once, though this one remembers it', async () => {
    for (const action of ['disableServiceAccount(accessKey: $s) { enabled }', 'deleteServiceAccount(accessKey: $s)']) {
      const sa = await writer.tenant('o-spec', [{ permission: 'ASSET_READ' }]);
      await warm(sa.token, fleet.devices[0]!.assetId);
      expect((await writer.gql(admin.token, `mutation($s: ID!) { ${action} }`, { s: sa.accessKey })).errors).toBeUndefined();
      const r = await reader.gql(sa.token, HISTORY, { a: fleet.devices[0]!.assetId });
      expect(r.status).toBe(401);
      expect(r.data ?? null).toBeNull();
      expect(r.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
      expect(reader.app.deps.speculation.callers.has(sa.token)).toBe(false);
    }
  });

  it('applies a narrowed grant at once', async () => {
    const sa = await writer.tenant('o-spec', [{ permission: 'ASSET_READ' }]);
    await warm(sa.token, fleet.devices[0]!.assetId);
    const g = await writer.gql(admin.token, 'mutation($s: ID!, $g: [GrantInput!]!) { updateServiceAccountGrants(accessKey: $s, grants: $g) { accessKey } }', { s: sa.accessKey, g: [{ permission: 'ASSET_READ', assetIds: [fleet.devices[1]!.assetId] }] });
    expect(g.errors).toBeUndefined();
    const r = await reader.gql(sa.token, HISTORY, { a: fleet.devices[0]!.assetId });
    expect(r.data ?? null).toBeNull();
    expect(r.errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });

  it('answers NOT_FOUND for a device deleted on another instance, though this one remembers it', async () => {
    const sa = await writer.tenant('o-spec', [{ permission: 'ASSET_READ' }]);
    const victim = fleet.devices[3]!;
    await warm(sa.token, victim.assetId);
    const d = await writer.gql(admin.token, 'mutation($a: ID!) { deleteDevice(device: { assetId: $a }) }', { a: victim.assetId });
    expect(d.errors).toBeUndefined();
    const r = await reader.gql(sa.token, HISTORY, { a: victim.assetId });
    expect(r.errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });

  it('reads a point added to the model on another instance at once', async () => {
    const sa = await writer.tenant('o-spec', [{ permission: 'ASSET_READ' }]);
    await warm(sa.token, fleet.devices[1]!.assetId);
    const measurePoints = [...FLEET_MODEL.measurePoints, { identifier: 'energy', name: 'Energy', type: { dataType: 'DOUBLE' } }];
    const u = await writer.gql(admin.token, 'mutation($m: ID!, $i: ThingModelInput!) { updateThingModel(identifier: $m, input: $i) { identifier } }', { m: FLEET_MODEL.identifier, i: { ...FLEET_MODEL, measurePoints } });
    expect(u.errors).toBeUndefined();
    const r = await reader.gql(sa.token, HISTORY.replace('"power"', '"energy"'), { a: fleet.devices[1]!.assetId });
    expect(r.errors).toBeUndefined();
    expect(r.data!.pointHistory.columns.timesJson).toEqual([]);
  });

  it('answers for a device renamed in the database at once (the registry epoch moves)', async () => {
    const sa = await writer.tenant('o-spec', [{ permission: 'ASSET_READ' }]);
    const d = fleet.devices[2]!;
    await warm(sa.token, d.assetId);
    await queryRows(writer.db, sql`update devices set asset_id = ${`${d.assetId}-moved`} where id = ${d.id}`);
    try {
      const old = await reader.gql(sa.token, HISTORY, { a: d.assetId });
      expect(old.errors![0]!.extensions!.code).toBe('NOT_FOUND');
      const moved = await reader.gql(sa.token, HISTORY, { a: `${d.assetId}-moved` });
      expect(moved.errors).toBeUndefined();
    } finally {
      await queryRows(writer.db, sql`update devices set asset_id = ${d.assetId} where id = ${d.id}`);
    }
  });

  it('keeps what it remembers through ingest and edits that name no device differently', async () => {
    const sa = await writer.tenant('o-spec', [{ permission: 'ASSET_READ' }]);
    const d = fleet.devices[1]!;
    await warm(sa.token, d.assetId);
    const epoch = async () => (await queryRows<{ e: number }>(writer.db, sql`select registry_epoch::float8 as e from organisations where id = 'o-spec'`))[0]!.e;
    const before = await epoch();
    expect((await writer.gql(admin.token, POST, { items: [{ assetId: d.assetId, time: T0 + 7_000, values: { power: 2 } }] })).errors).toBeUndefined();
    expect((await writer.gql(admin.token, 'mutation($a: ID!) { updateDevice(device: { assetId: $a }, input: { name: "renamed" }) { name } }', { a: d.assetId })).errors).toBeUndefined();
    expect((await writer.gql(admin.token, 'mutation($a: ID!) { disableDevice(device: { assetId: $a }) { assetId } }', { a: d.assetId })).errors).toBeUndefined();
    expect((await writer.gql(admin.token, 'mutation($a: ID!) { enableDevice(device: { assetId: $a }) { assetId } }', { a: d.assetId })).errors).toBeUndefined();
    expect(await epoch()).toBe(before);
    const r = await reader.gql(sa.token, HISTORY, { a: d.assetId });
    expect(r.data!.pointHistory.columns.timesJson).toEqual([T0 + 7_000]);
  });

  it('never lends a device remembered for one organisation to another', async () => {
    const owner = await writer.tenant('o-spec', [{ permission: 'ASSET_READ' }]);
    const other = await writer.tenant('o-spec-other', ALL_GRANTS);
    await warm(owner.token, fleet.devices[0]!.assetId);
    // The other organisation's token is remembered too, and it names the first one's device.
    expect((await reader.gql(other.token, '{ me { organisation { id } } }')).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const r = await reader.gql(other.token, HISTORY, { a: fleet.devices[0]!.assetId });
      expect(r.data ?? null).toBeNull();
      expect(r.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    }
  });

  it('never runs a mutation on a remembered token before the database confirms it', async () => {
    const sa = await writer.tenant('o-spec', [{ permission: 'ASSET_READ' }, { permission: 'ASSET_WRITE' }]);
    await warm(sa.token, fleet.devices[2]!.assetId);
    expect((await writer.gql(admin.token, 'mutation($s: ID!) { disableServiceAccount(accessKey: $s) { enabled } }', { s: sa.accessKey })).errors).toBeUndefined();
    const w = await reader.gql(sa.token, POST, { items: [{ assetId: fleet.devices[2]!.assetId, time: T0 + 5_000, values: { power: 9 } }] });
    expect(w.status).toBe(401);
    const r = await writer.gql(admin.token, HISTORY, { a: fleet.devices[2]!.assetId });
    expect(r.data!.pointHistory.columns.timesJson).toEqual([]);
  });
});
