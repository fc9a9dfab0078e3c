import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitOffsets } from '../../src/live/groups';
import { getHeadOffset } from '../../src/live/log';
import type { LiveBatch } from '../../src/live/project';
import { queryRows } from '../../src/storage/db';
import { ALL_GRANTS, errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { batchOf, connectRaw, CONSUME, createFleet, ingestBatch, point, waitFor, type Fleet, type RawClient } from './live-fixtures';

/*
 * Committed offsets of consumer groups: never past the head of the log, movable back by a reset,
 * and moved only by a caller whose ASSET_READ grant reaches every device the job selects.
 * The fleet has products P0 (devices 0, 1) and P1 (devices 2, 3); jobs select P0.
 */
let t: TestApp;
let fleet: Fleet;
let admin: Tenant;
let reader: Tenant;
const clients: RawClient[] = [];
const ORG = 'o-offsets';
const T0 = 1_767_225_600_000;

const COMMIT = 'mutation ($jobId: ID!, $group: String!, $offset: String!, $partitions: [Int!]!) { commitJobOffsets(jobId: $jobId, group: $group, offset: $offset, partitions: $partitions) { partition offset } }';
const RESET = 'mutation ($jobId: ID!, $group: String!, $to: JobOffsetResetInput) { resetJobOffsets(jobId: $jobId, group: $group, to: $to) { partition offset } }';
const RESET_DEFAULT = 'mutation ($jobId: ID!, $group: String!) { resetJobOffsets(jobId: $jobId, group: $group) { partition offset } }';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const values = (bs: readonly LiveBatch[]) => bs.flatMap((b) => b.points.map((p) => p.value as number));
/** One batch with a value for each device: device i gets base + i. */
const ingestRound = (base: number) => ingestBatch(t.app.deps, batchOf(fleet, { points: fleet.devices.map((d, i) => point(fleet, d, 'temp', T0 + base + i, base + i)) }));
/** Both partitions at `offset`, as the API returns them. */
const both = (offset: number | string) => [0, 1].map((partition) => ({ partition, offset: String(offset) }));

/** Members of a group with a recent heartbeat, read from the table the instances share. */
async function membersOf(jobId: string, group: string): Promise<number> {
  const [r] = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from live_group_members where job_id = ${jobId} and group_name = ${group} and heartbeat_at > now() - interval '5 seconds'`);
  return Number(r?.n ?? 0);
}

async function createJob(name: string, filter: Record<string, unknown> = { productKeys: [fleet.productKeys[0]] }): Promise<string> {
  const r = await t.gql(admin.token, 'mutation ($input: SubscriptionJobInput!) { createSubscriptionJob(input: $input) { id } }', { input: { name, kind: 'MEASURE_POINTS', filter } });
  expect(r.errors).toBeUndefined();
  return r.data!.createSubscriptionJob.id;
}

async function offsetsOf(jobId: string, group: string): Promise<unknown> {
  const r = await t.gql(admin.token, 'query ($id: ID!, $g: String!) { subscriptionJob(id: $id) { groupOffsets(group: $g) { partition offset } } }', { id: jobId, g: group });
  return r.data!.subscriptionJob.groupOffsets;
}

/** Consumes a group without committing until `n` values came (and a moment more), then leaves it. */
async function consume(jobId: string, group: string, n: number): Promise<number[]> {
  const c = await connectRaw(t.url, reader.token);
  clients.push(c);
  const s = c.subscribe('s', CONSUME, { jobId, group, autoCommit: false });
  await waitFor(() => values(s.batches).length >= n || s.errors.length > 0, `${n} values`);
  expect(s.errors).toEqual([]);
  await sleep(300);
  c.close();
  await c.closed;
  for (let i = 0; i < 100 && (await membersOf(jobId, group)) > 0; i++) await sleep(50);
  return values(s.batches);
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.tenant(ORG);
  reader = await t.tenant(ORG, [{ permission: 'ASSET_READ' }]);
  fleet = await createFleet(t.db, ORG, 'of', 2, 2);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t.close();
});

describe('committing offsets', () => {
  it('refuses an offset past the head of the log, naming the head, and keeps the group where it was', async () => {
    const jobId = await createJob('ahead');
    await ingestRound(100);
    const head = await getHeadOffset(t.db);
    const r = await t.gql(reader.token, COMMIT, { jobId, group: 'g', offset: String(head + 1_000_000), partitions: [0, 1] });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toContain(`head of the message log (${head})`);
    expect(r.errors![0]!.extensions?.details).toMatchObject({ head: String(head) });
    expect(await offsetsOf(jobId, 'g')).toEqual([]);
    const ok = await t.gql(reader.token, COMMIT, { jobId, group: 'g', offset: String(head), partitions: [0, 1] });
    expect(ok.data!.commitJobOffsets).toEqual(both(head));
  });
});

describe('resetting offsets', () => {
  it('moves a group back to an offset, a time, the oldest retained message and the head', async () => {
    const jobId = await createJob('replay');
    await ingestRound(200);
    const afterA = await getHeadOffset(t.db);
    await sleep(30);
    const between = Date.now();
    await sleep(30);
    await ingestRound(300);
    const head = await getHeadOffset(t.db);
    await t.gql(reader.token, COMMIT, { jobId, group: 'replay', offset: String(head), partitions: [0, 1] });

    const toOffset = await t.gql(reader.token, RESET, { jobId, group: 'replay', to: { offset: String(afterA) } });
    expect(toOffset.data!.resetJobOffsets).toEqual(both(afterA));
    expect(await consume(jobId, 'replay', 2)).toEqual([300, 301]);

    const toTime = await t.gql(reader.token, RESET, { jobId, group: 'replay', to: { time: between } });
    expect(toTime.data!.resetJobOffsets).toEqual(both(afterA));
    expect(await consume(jobId, 'replay', 2)).toEqual([300, 301]);

    const toEarliest = await t.gql(reader.token, RESET, { jobId, group: 'replay', to: { earliest: true } });
    expect(toEarliest.data!.resetJobOffsets).toEqual(both(0));
    const all = await consume(jobId, 'replay', 6);
    expect(all).toEqual([100, 101, 200, 201, 300, 301]);

    const toLatest = await t.gql(reader.token, RESET, { jobId, group: 'replay', to: { latest: true } });
    expect(toLatest.data!.resetJobOffsets).toEqual(both(head));
    const future = await t.gql(reader.token, RESET, { jobId, group: 'replay', to: { time: Date.now() + 60_000 } });
    expect(future.data!.resetJobOffsets).toEqual(both(head));
  });

  it('repairs a group committed far past the head: a reset without a target moves it back to the head', async () => {
    const jobId = await createJob('stuck');
    const head = await getHeadOffset(t.db);
    // The state an unchecked commit used to leave: the group would wait for the log to get there.
    await commitOffsets(t.db, jobId, 'stuck', [0, 1], head + 1_000_000);
    const r = await t.gql(reader.token, RESET_DEFAULT, { jobId, group: 'stuck' });
    expect(r.data!.resetJobOffsets).toEqual(both(head));
    await ingestRound(400);
    expect(await consume(jobId, 'stuck', 2)).toEqual([400, 401]);
  });

  it('refuses a reset while the group has connected consumers', async () => {
    const jobId = await createJob('busy');
    const c = await connectRaw(t.url, reader.token);
    clients.push(c);
    c.subscribe('s', CONSUME, { jobId, group: 'busy' });
    for (let i = 0; i < 100 && (await membersOf(jobId, 'busy')) === 0; i++) await sleep(50);
    const r = await t.gql(reader.token, RESET, { jobId, group: 'busy', to: { earliest: true } });
    expect(errorCode(r)).toBe('CONFLICT');
    c.close();
  });

  it('refuses targets with no field, several fields, a false flag or an offset past the head', async () => {
    const jobId = await createJob('targets');
    const head = await getHeadOffset(t.db);
    for (const to of [{}, { earliest: true, latest: true }, { earliest: false }, { offset: String(head + 10) }, { offset: '-1' }]) {
      expect(errorCode(await t.gql(reader.token, RESET, { jobId, group: 'g', to })), JSON.stringify(to)).toBe('BAD_USER_INPUT');
    }
    expect(await offsetsOf(jobId, 'g')).toEqual([]);
  });
});

describe('who moves a group', () => {
  it('refuses commit, reset and autoCommit to an account whose grant misses a device the job selects', async () => {
    const jobId = await createJob('scoped');
    const head = await getHeadOffset(t.db);
    await t.gql(reader.token, COMMIT, { jobId, group: 'g', offset: String(head), partitions: [0, 1] });
    const [d0, d1] = fleet.devices;
    const scoped = await t.tenant(ORG, [{ permission: 'ASSET_READ', assetIds: [d0!.assetId] }]);
    const commit = await t.gql(scoped.token, COMMIT, { jobId, group: 'g', offset: '0', partitions: [0, 1] });
    expect(errorCode(commit)).toBe('FORBIDDEN');
    expect(commit.errors![0]!.message).not.toContain(d1!.assetId);
    expect(errorCode(await t.gql(scoped.token, RESET, { jobId, group: 'g', to: { latest: true } }))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(scoped.token, RESET_DEFAULT, { jobId, group: 'g' }))).toBe('FORBIDDEN');
    expect(await offsetsOf(jobId, 'g')).toEqual(both(head));

    const c = await connectRaw(t.url, scoped.token);
    clients.push(c);
    const auto = c.subscribe('auto', CONSUME, { jobId, group: 'g' });
    await waitFor(() => auto.errors.length > 0, 'an error');
    expect(auto.errors[0]!.extensions?.code).toBe('FORBIDDEN');
    // Without committing, it may still read its own devices of the job.
    const manual = c.subscribe('manual', CONSUME, { jobId, group: 'mine', autoCommit: false });
    for (let i = 0; i < 100 && (await membersOf(jobId, 'mine')) === 0; i++) await sleep(50);
    await ingestRound(500);
    await waitFor(() => values(manual.batches).length >= 1, 'its device');
    expect(values(manual.batches)).toEqual([500]);
    c.close();
  });

  it('lets grants that reach every device the job selects move it: the product, or each device', async () => {
    const jobId = await createJob('covered');
    const head = await getHeadOffset(t.db);
    const [d0, d1] = fleet.devices;
    for (const grant of [{ productKeys: [fleet.productKeys[0]!] }, { assetIds: [d0!.assetId, d1!.assetId] }]) {
      const sa = await t.tenant(ORG, [{ permission: 'ASSET_READ', ...grant }]);
      const r = await t.gql(sa.token, COMMIT, { jobId, group: 'g', offset: String(head), partitions: [0] });
      expect(r.errors, JSON.stringify(grant)).toBeUndefined();
    }
    const oneDevice = await createJob('one device', { assetIds: [d0!.assetId] });
    const sa = await t.tenant(ORG, [{ permission: 'ASSET_READ', assetIds: [d0!.assetId] }]);
    expect((await t.gql(sa.token, RESET, { jobId: oneDevice, group: 'g', to: { earliest: true } })).errors).toBeUndefined();
  });

  it("is NOT_FOUND for another organisation, which cannot move the group", async () => {
    const jobId = await createJob('private');
    const head = await getHeadOffset(t.db);
    await t.gql(reader.token, COMMIT, { jobId, group: 'g', offset: String(head), partitions: [0, 1] });
    const stranger = await t.tenant('o-offsets-other', ALL_GRANTS);
    expect(errorCode(await t.gql(stranger.token, COMMIT, { jobId, group: 'g', offset: '0', partitions: [0] }))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(stranger.token, RESET, { jobId, group: 'g', to: { latest: true } }))).toBe('NOT_FOUND');
    expect(await offsetsOf(jobId, 'g')).toEqual(both(head));
  });
});

// Last: it marks part of the log as removed by retention.
describe('retention', () => {
  it('never moves a group before what retention removed', async () => {
    const jobId = await createJob('pruned');
    const head = await getHeadOffset(t.db);
    await queryRows(t.db, sql`insert into live_log_state (id, pruned_through) values (1, ${head - 2}) on conflict (id) do update set pruned_through = excluded.pruned_through`);
    expect(errorCode(await t.gql(reader.token, RESET, { jobId, group: 'g', to: { offset: '1' } }))).toBe('OFFSET_OUT_OF_RANGE');
    expect((await t.gql(reader.token, RESET, { jobId, group: 'g', to: { earliest: true } })).data!.resetJobOffsets).toEqual(both(head - 2));
    expect((await t.gql(reader.token, RESET, { jobId, group: 'g', to: { time: 0 } })).data!.resetJobOffsets).toEqual(both(head - 2));
  });
});
