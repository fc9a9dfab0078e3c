import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteServiceAccount, rotateServiceAccountSecret, setServiceAccountEnabled, updateServiceAccountGrants } from '../../src/auth/service-accounts';
import { CLOSE_SLOW_CONSUMER, liveOf } from '../../src/live/service';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { batchOf, connectRaw, createFleet, ingestBatch, liveQuery, point, waitFor, type Fleet, type RawClient } from './live-fixtures';

let t: TestApp;
let fleet: Fleet;
let token: string;
const clients: RawClient[] = [];
const T0 = 1_767_225_600_000;

async function client(tok = token): Promise<RawClient> {
  const c = await connectRaw(t.url, tok);
  clients.push(c);
  return c;
}
const subscribers = () => liveOf(t.app.deps).hub.stats().subscribers;

beforeAll(async () => {
  t = await startTestApp({ SUBSCRIBER_BUFFER_MAX: '100' });
  token = (await t.tenant('o-bp')).token;
  fleet = await createFleet(t.db, 'o-bp', 'bp', 1, 4);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t.close();
});

describe('backpressure', () => {
  it('disconnects a subscriber that stops reading with 4008, without slowing ingestion or other subscribers, and it resumes from its offset', async () => {
    const slow = await client();
    const fast = await client();
    const slowSub = slow.subscribe('s', liveQuery('measurePointsLive'));
    const fastSub = fast.subscribe('f', liveQuery('measurePointsLive'));
    await waitFor(() => subscribers() === 2, 'two subscribers');
    slow.ws.pause();
    const N = 300;
    const filler = 'x'.repeat(400);
    for (let i = 0; i < N; i++) {
      const points = fleet.devices.flatMap((d) => Array.from({ length: 20 }, (_, k) => point(fleet, d, 'state', T0 + i * 100 + k, `${i}:${filler}`)));
      await ingestBatch(t.app.deps, batchOf(fleet, { points }));
    }
    await waitFor(() => fastSub.batches.length === N, 'every batch on the fast subscriber', 30_000);
    await waitFor(() => subscribers() === 1, 'the slow subscriber dropped');
    slow.ws.resume();
    const closed = await slow.closed;
    expect(closed.code).toBe(CLOSE_SLOW_CONSUMER);
    expect(slowSub.batches.length).toBeLessThan(N);

    const again = await client();
    const rest = again.subscribe('r', liveQuery('measurePointsLive'), slowSub.batches.length ? { fromOffset: slowSub.batches.at(-1)!.offset } : { fromOffset: String(Number(fastSub.batches[0]!.offset) - 1) });
    await waitFor(() => slowSub.batches.length + rest.batches.length === N, 'the rest after resuming', 30_000);
    expect([...slowSub.batches, ...rest.batches].map((b) => b.offset)).toEqual(fastSub.batches.map((b) => b.offset));
    slow.close();
    fast.close();
    again.close();
    await waitFor(() => subscribers() === 0, 'no subscribers');
  }, 60_000);
});

describe('revocation', () => {
  it('ends the subscriptions of a disabled, deleted, rotated or re-granted service account with 4403', async () => {
    const sas: Tenant[] = [];
    for (let i = 0; i < 5; i++) sas.push(await t.tenant('o-bp', [{ permission: 'ASSET_READ' }]));
    const conns = await Promise.all(sas.map((sa) => client(sa.token)));
    conns.forEach((c, i) => c.subscribe(`r${i}`, liveQuery('measurePointsLive')));
    await waitFor(() => subscribers() === 5, 'five subscribers');
    await setServiceAccountEnabled(t.db, 'o-bp', sas[0]!.accessKey, false);
    await deleteServiceAccount(t.db, 'o-bp', sas[1]!.accessKey);
    await rotateServiceAccountSecret(t.db, t.app.deps.box, 'o-bp', sas[2]!.accessKey);
    await updateServiceAccountGrants(t.db, 'o-bp', sas[3]!.accessKey, [{ permission: 'ASSET_READ', assetIds: [fleet.devices[0]!.assetId] }]);
    const codes = await Promise.all(conns.slice(0, 4).map((c) => c.closed.then((e) => e.code)));
    expect(codes).toEqual([4403, 4403, 4403, 4403]);
    expect(conns[4]!.closeCode).toBeNull();
    await waitFor(() => subscribers() === 1, 'the revoked subscriptions gone');
  }, 20_000);
});
