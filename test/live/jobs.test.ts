import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveBatch } from '../../src/live/project';
import { getHeadOffset } from '../../src/live/log';
import { liveOf } from '../../src/live/service';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { batchOf, connectRaw, CONSUME, createFleet, ingestBatch, point, waitFor, type Fleet, type RawClient } from './live-fixtures';

let t: TestApp;
let fleet: Fleet;
let admin: Tenant;
let reader: Tenant;
let stranger: Tenant;
const clients: RawClient[] = [];
const T0 = 1_767_225_600_000;

const JOB_FIELDS = 'id name kind filter partitions groupOffsets { partition offset }';
const CREATE = `mutation ($input: SubscriptionJobInput!) { createSubscriptionJob(input: $input) { ${JOB_FIELDS} } }`;
const COMMIT = 'mutation ($jobId: ID!, $group: String!, $offset: String!, $partitions: [Int!]!) { commitJobOffsets(jobId: $jobId, group: $group, offset: $offset, partitions: $partitions) { partition offset } }';

async function client(tok: string): Promise<RawClient> {
  const c = await connectRaw(t.url, tok);
  clients.push(c);
  return c;
}
const values = (bs: readonly LiveBatch[]) => bs.flatMap((b) => b.points.map((p) => p.value as number));
/** One batch with a value for each device: device i gets base + i. */
const ingestRound = (base: number) => ingestBatch(t.app.deps, batchOf(fleet, { points: fleet.devices.map((d, i) => point(fleet, d, 'temp', T0 + base + i, base + i)) }));

async function createJob(name: string, partitions = 2): Promise<string> {
  const r = await t.gql(admin.token, CREATE, { input: { name, kind: 'MEASURE_POINTS', filter: { productKeys: [fleet.productKeys[0]], identifiers: ['temp'] }, partitions } });
  expect(r.errors).toBeUndefined();
  return (r.data!['createSubscriptionJob'] as { id: string }).id;
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.tenant('o-jobs');
  reader = await t.tenant('o-jobs', [{ permission: 'ASSET_READ' }]);
  stranger = await t.tenant('o-strange');
  fleet = await createFleet(t.db, 'o-jobs', 'jb', 1, 4);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t.close();
});

describe('subscription jobs', () => {
  it('creates, lists, updates and deletes a job with ORG_ADMIN; ASSET_READ reads; others are FORBIDDEN', async () => {
    const r = await t.gql(admin.token, CREATE, { input: { name: 'meters', kind: 'MEASURE_POINTS', filter: { modelIds: [fleet.modelIdentifier] } } });
    const job = r.data!['createSubscriptionJob'] as { id: string; partitions: number; filter: unknown; groupOffsets: unknown[] };
    expect(job).toMatchObject({ partitions: 2, filter: { modelIds: [fleet.modelIdentifier] }, groupOffsets: [] });
    expect(errorCode(await t.gql(admin.token, CREATE, { input: { name: 'meters', kind: 'EVENTS' } }))).toBe('CONFLICT');
    expect(errorCode(await t.gql(admin.token, CREATE, { input: { name: 'bad', kind: 'EVENTS', filter: { assetIds: ['nope'] } } }))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(reader.token, CREATE, { input: { name: 'x', kind: 'EVENTS' } }))).toBe('FORBIDDEN');
    const list = await t.gql(reader.token, '{ subscriptionJobs { id name } }');
    expect(list.data!['subscriptionJobs']).toEqual([{ id: job.id, name: 'meters' }]);
    const upd = await t.gql(admin.token, 'mutation ($id: ID!, $input: SubscriptionJobInput!) { updateSubscriptionJob(id: $id, input: $input) { name kind } }', { id: job.id, input: { name: 'events', kind: 'EVENTS' } });
    expect(upd.data!['updateSubscriptionJob']).toEqual({ name: 'events', kind: 'EVENTS' });
    expect(errorCode(await t.gql(reader.token, 'mutation ($id: ID!) { deleteSubscriptionJob(id: $id) }', { id: job.id }))).toBe('FORBIDDEN');
    expect((await t.gql(admin.token, 'mutation ($id: ID!) { deleteSubscriptionJob(id: $id) }', { id: job.id })).data).toEqual({ deleteSubscriptionJob: true });
  });

  it('keeps jobs and their offsets invisible to another organisation', async () => {
    const id = await createJob('private');
    expect((await t.gql(stranger.token, 'query ($id: ID!) { subscriptionJob(id: $id) { id } }', { id })).data).toEqual({ subscriptionJob: null });
    expect((await t.gql(stranger.token, '{ subscriptionJobs { id } }')).data).toEqual({ subscriptionJobs: [] });
    expect(errorCode(await t.gql(stranger.token, 'mutation ($id: ID!, $input: SubscriptionJobInput!) { updateSubscriptionJob(id: $id, input: $input) { id } }', { id, input: { name: 'x', kind: 'EVENTS' } }))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(stranger.token, 'mutation ($id: ID!) { deleteSubscriptionJob(id: $id) }', { id }))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(stranger.token, COMMIT, { jobId: id, group: 'g', offset: '1', partitions: [0] }))).toBe('NOT_FOUND');
    const c = await client(stranger.token);
    const s = c.subscribe('x', CONSUME, { jobId: id });
    await waitFor(() => s.errors.length > 0, 'error');
    expect(s.errors[0]!.extensions?.code).toBe('NOT_FOUND');
    const noRead = await t.tenant('o-jobs', [{ permission: 'REGISTRY_READ' }]);
    expect(errorCode(await t.gql(noRead.token, COMMIT, { jobId: id, group: 'g', offset: '1', partitions: [0] }))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(noRead.token, '{ subscriptionJobs { id } }'))).toBe('FORBIDDEN');
  });
});

describe('consumer groups', () => {
  it('shares a job between the consumers of one group, each record to one of them, while another group gets its own copy', async () => {
    const jobId = await createJob('shared');
    const a = await client(reader.token);
    const b = await client(reader.token);
    const c = await client(admin.token);
    const sa = a.subscribe('a', CONSUME, { jobId, group: 'workers' });
    const sb = b.subscribe('b', CONSUME, { jobId, group: 'workers' });
    const sc = c.subscribe('c', CONSUME, { jobId, group: 'audit' });
    await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers >= 3, 'three consumers');
    await new Promise((r) => setTimeout(r, 2_500)); // NOTE: one heartbeat for both members to see each other
    for (let round = 0; round < 5; round++) await ingestRound(100 * (round + 1));
    const expected = [1, 2, 3, 4, 5].flatMap((r) => fleet.devices.map((_, i) => 100 * r + i));
    await waitFor(() => values(sa.batches).length + values(sb.batches).length === expected.length && values(sc.batches).length === expected.length, 'every record once per group');
    expect(values(sa.batches).length).toBeGreaterThan(0);
    expect(values(sb.batches).length).toBeGreaterThan(0);
    expect([...values(sa.batches), ...values(sb.batches)].sort((x, y) => x - y)).toEqual(expected);
    expect(values(sc.batches)).toEqual(expected);
    expect(new Set(sa.batches.flatMap((x) => x.partitions ?? []))).not.toEqual(new Set(sb.batches.flatMap((x) => x.partitions ?? [])));
    b.close();
    await b.closed;
    await new Promise((r) => setTimeout(r, 2_500)); // NOTE: the survivor takes over the partitions
    const before = values(sa.batches).length;
    await ingestRound(900);
    await waitFor(() => values(sa.batches).length >= before + fleet.devices.length, 'the survivor gets every device');
    expect(values(sa.batches).slice(before)).toEqual(fleet.devices.map((_, i) => 900 + i));
    a.close();
    c.close();
  });

  it('continues a group from its committed offset after every consumer left, at least once', async () => {
    const jobId = await createJob('resumable');
    const a = await client(reader.token);
    const sa = a.subscribe('a', CONSUME, { jobId, group: 'g1', autoCommit: false });
    await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers >= 1, 'consumer');
    await new Promise((r) => setTimeout(r, 300));
    await ingestRound(1000);
    await ingestRound(2000);
    await waitFor(() => values(sa.batches).length === 8, 'two rounds');
    const first = sa.batches[0]!;
    const committed = await t.gql(reader.token, COMMIT, { jobId, group: 'g1', offset: first.offset, partitions: first.partitions });
    expect(committed.data!['commitJobOffsets']).toEqual([0, 1].map((p) => ({ partition: p, offset: first.offset })));
    a.close();
    await a.closed;
    await ingestRound(3000);

    const b = await client(reader.token);
    const sb = b.subscribe('b', CONSUME, { jobId, group: 'g1' });
    await waitFor(() => values(sb.batches).length === 8, 'the uncommitted and the missed round');
    expect(values(sb.batches)).toEqual([2000, 2001, 2002, 2003, 3000, 3001, 3002, 3003]);
    b.close();
    await b.closed;
    await waitFor(() => liveOf(t.app.deps).hub.stats().subscribers === 0, 'consumer gone');
    // NOTE: a leaving consumer commits what it delivered after it has gone (asynchronously).
    const last = sb.batches.at(-1)!.offset;
    let groupOffsets: unknown;
    const readOffsets = async () => {
      const r = await t.gql(reader.token, `query ($id: ID!) { subscriptionJob(id: $id) { groupOffsets(group: "g1") { partition offset } } }`, { id: jobId });
      groupOffsets = (r.data!['subscriptionJob'] as { groupOffsets: { offset: string }[] }).groupOffsets;
      return (groupOffsets as { offset: string }[]).every((o) => o.offset === last);
    };
    for (let i = 0; i < 50 && !(await readOffsets()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(groupOffsets).toEqual([0, 1].map((p) => ({ partition: p, offset: last })));

    expect(errorCode(await t.gql(reader.token, COMMIT, { jobId, group: 'g1', offset: last, partitions: [2] }))).toBe('BAD_USER_INPUT');
    await ingestRound(4000);
    const head = String(await getHeadOffset(t.db));
    const reset = await t.gql(reader.token, 'mutation ($jobId: ID!) { resetJobOffsets(jobId: $jobId, group: "g1") { partition offset } }', { jobId });
    expect(reset.data!['resetJobOffsets']).toEqual([0, 1].map((p) => ({ partition: p, offset: head })));
  });
});
