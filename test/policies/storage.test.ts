import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFormList } from '../../src/policies/input';
import { RETENTION_LOCK_KEY, runRetention } from '../../src/policies/retention';
import { openDatabase, queryRows, type Database } from '../../src/storage/db';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { DRIVER } from '../helpers/test-db';
import { post, Q, rows, setupMeters } from './fixtures';

const DAY = 86_400_000;
/** The fixed clock of the retention runs: 2026-03-01T00:00:00Z. */
const NOW = Date.UTC(2026, 2, 1);
const SERVICE_DEFAULT = 'RAW:30';

let t: TestApp;
let org: Tenant;
let assets: string[];

beforeAll(async () => {
  t = await startTestApp({ POLICY_DEFAULT_STORAGE: SERVICE_DEFAULT });
  org = await t.tenant('o-store');
  assets = await setupMeters(t, org, 'pkStore', 2);
});
afterAll(() => t.close());

const effective = async (point: string) => (await t.gql(org.token, Q.effective, { m: 'Meter', p: point })).data?.['effectivePointPolicy'].storage;
const setStorage = async (input: unknown) => t.gql(org.token, Q.setStorage, { m: 'Meter', i: input });

describe('storage policies decide which forms are stored', () => {
  it('uses the service default (POLICY_DEFAULT_STORAGE) for a model without storage policies', async () => {
    expect(await effective('temp')).toEqual({ source: 'SERVICE_DEFAULT', policyName: null, forms: [{ form: 'RAW', retentionDays: 30 }], latestOnly: false });
  });

  it('applies a model default policy to every point not listed in a group, and a group to its points', async () => {
    const d = await setStorage({ name: 'all', forms: [{ form: 'RAW', retentionDays: 90 }, { form: 'ROLLUP_1H', retentionDays: 1826 }] });
    expect(d.errors).toBeUndefined();
    expect(d.data?.['setStoragePolicy']).toEqual({ name: 'all', points: null, forms: [{ form: 'RAW', retentionDays: 90 }, { form: 'ROLLUP_1H', retentionDays: 1826 }], modelVersion: 1 });
    const g = await setStorage({ name: 'fast', points: ['voltage', 'current'], forms: [{ form: 'NORMALIZED_1M', retentionDays: 7 }] });
    expect(g.data?.['setStoragePolicy'].points).toEqual(['current', 'voltage']);
    expect((await setStorage({ name: 'latest', points: ['label'], forms: [] })).errors).toBeUndefined();
    expect(await effective('temp')).toMatchObject({ source: 'MODEL_DEFAULT', policyName: 'all' });
    expect(await effective('voltage')).toEqual({ source: 'POINT_GROUP', policyName: 'fast', forms: [{ form: 'NORMALIZED_1M', retentionDays: 7 }], latestOnly: false });
    expect(await effective('label')).toEqual({ source: 'POINT_GROUP', policyName: 'latest', forms: [], latestOnly: true });
  });

  it('counts newly enabled rollups as complete only from a little after the save', async () => {
    const [r] = await queryRows<{ since: string }>(t.db, sql`select c.since from rollup_coverage c join model_features f on f.id = c.point_id where f.identifier = 'temp' and c.form = 'ROLLUP_1H'`);
    expect(new Date(r!.since).getTime()).toBeGreaterThan(Date.now());
  });

  it('keeps only the latest value of a point without stored forms', async () => {
    await post(t, org, [{ assetId: assets[0]!, time: NOW - DAY, values: { label: 'a' } }, { assetId: assets[0]!, time: NOW - DAY + 1, values: { label: 'b' } }]);
    expect(await rows(t, 'point_data', assets[0]!, 'label')).toEqual([]);
    expect((await rows(t, 'latest_values', assets[0]!, 'label')).map((r) => r.txt)).toEqual(['b']);
  });

  it('stores one normalized value per minute, the last one in the minute, and no raw history without RAW', async () => {
    const m = NOW - 2 * DAY;
    await post(t, org, [{ assetId: assets[0]!, time: m + 10_000, values: { voltage: 1 } }, { assetId: assets[0]!, time: m + 50_000, values: { voltage: 2 } }, { assetId: assets[0]!, time: m + 70_000, values: { voltage: 3 } }]);
    await post(t, org, [{ assetId: assets[0]!, time: m + 30_000, values: { voltage: 9 } }], 'OFFLINE');
    expect((await rows(t, 'point_normalized_1m', assets[0]!, 'voltage')).map((r) => [r.t - m, r.num])).toEqual([
      [0, 2],
      [60_000, 3],
    ]);
    expect(await rows(t, 'point_data', assets[0]!, 'voltage')).toEqual([]);
  });
});

describe('storage policies are validated when saved', () => {
  const bad: [string, unknown, string][] = [
    ['a retention under one day', { name: 'x', points: ['temp'], forms: [{ form: 'RAW', retentionDays: 0 }] }, 'at least 1 day'],
    ['a retention over twenty years', { name: 'x', points: ['temp'], forms: [{ form: 'RAW', retentionDays: 7306 }] }, 'at most 20 years'],
    ['a form listed twice', { name: 'x', points: ['temp'], forms: [{ form: 'RAW', retentionDays: 1 }, { form: 'RAW', retentionDays: 2 }] }, 'listed twice'],
    ['a point already in another policy', { name: 'x', points: ['voltage'], forms: [] }, 'already in storage policy fast'],
    ['a point the model lacks', { name: 'x', points: ['label2'], forms: [] }, 'no measurement point label2'],
    ['a second model default', { name: 'other', forms: [] }, 'already has a default storage policy (all)'],
  ];
  it.each(bad)('refuses %s with BAD_USER_INPUT', async (_, input, message) => {
    const r = await setStorage(input);
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toContain(message);
  });

  it('refuses rollups of a non-numeric point', async () => {
    const r = await setStorage({ name: 'latest', points: ['label'], forms: [{ form: 'ROLLUP_1M', retentionDays: 1 }] });
    expect(r.errors?.[0]?.message).toContain('rollups need numeric points');
  });
});

describe('retention deletes expired forms with a fixed clock', () => {
  const opts = { batchRows: 2, serviceDefault: parseFormList(SERVICE_DEFAULT), now: new Date(NOW) };

  it('deletes raw history, normalized values and rollups past each point retention, in small batches', async () => {
    const ages = [400, 100, 91, 89, 1];
    await post(t, org, ages.map((a) => ({ assetId: assets[1]!, time: NOW - a * DAY, values: { temp: a } })), 'OFFLINE');
    await post(t, org, [8, 6].map((a) => ({ assetId: assets[1]!, time: NOW - a * DAY, values: { voltage: a } })), 'OFFLINE');
    const r = await runRetention(t.app.deps.database, opts);
    expect(r.ran).toBe(true);
    expect((await rows(t, 'point_data', assets[1]!, 'temp')).map((x) => x.num)).toEqual([89, 1]);
    expect((await rows(t, 'point_normalized_1m', assets[1]!, 'voltage')).map((x) => x.num)).toEqual([6]);
    // 1-hour rollups are kept five years: none expired.
    const [n] = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from rollup_1h r join devices d on d.id = r.device_id where d.asset_id = ${assets[1]!}`);
    expect(n?.n).toBe(5);
    if (DRIVER === 'postgres') expect(r.droppedChunks).toBeGreaterThan(0);
  });

  it('deletes rollups past their own retention', async () => {
    const later = { ...opts, now: new Date(NOW + 1826 * DAY + 2 * DAY) };
    await runRetention(t.app.deps.database, later);
    const [n] = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from rollup_1h r join devices d on d.id = r.device_id where d.asset_id = ${assets[1]!}`);
    expect(n?.n).toBe(0);
  });

  it('runs once when two schedulers of the same instance start together', async () => {
    const [a, b] = await Promise.all([runRetention(t.app.deps.database, opts), runRetention(t.app.deps.database, opts)]);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
  });

  it('skips a run while another instance holds the retention lock, and runs after it is released', async () => {
    let other: Database = t.app.deps.database;
    let holder: postgres.Sql | null = null;
    if (t.tdb.url) {
      other = await openDatabase({ url: t.tdb.url, dataDir: '', poolMax: 2 });
      holder = postgres(t.tdb.url, { max: 1, onnotice: () => {} });
    }
    try {
      if (holder) {
        await holder`select pg_advisory_lock(${RETENTION_LOCK_KEY})`;
        expect((await runRetention(other, opts)).ran).toBe(false);
        await holder`select pg_advisory_unlock(${RETENTION_LOCK_KEY})`;
      } else {
        // PGlite is one process: a second run on the same database waits its turn in-process.
        const first = runRetention(other, opts);
        expect((await runRetention(other, opts)).ran).toBe(false);
        await first;
      }
      expect((await runRetention(other, opts)).ran).toBe(true);
    } finally {
      await holder?.end();
      if (other !== t.app.deps.database) await other.close();
    }
  });
});

describe('deleting a storage policy', () => {
  it('falls back to the model default and leaves stored data alone', async () => {
    const before = await rows(t, 'point_normalized_1m', assets[0]!, 'voltage');
    expect((await t.gql(org.token, Q.deleteStorage, { m: 'Meter', n: 'fast' })).data?.['deleteStoragePolicy']).toBe(true);
    expect(await effective('voltage')).toMatchObject({ source: 'MODEL_DEFAULT', policyName: 'all' });
    expect(await rows(t, 'point_normalized_1m', assets[0]!, 'voltage')).toEqual(before);
    expect(errorCode(await t.gql(org.token, Q.deleteStorage, { m: 'Meter', n: 'fast' }))).toBe('NOT_FOUND');
  });
});
