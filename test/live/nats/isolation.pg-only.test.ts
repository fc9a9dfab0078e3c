import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveOf } from '../../../src/live/service';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { batchOf, createFleet, ingestBatch, point, waitFor, type Fleet } from '../live-fixtures';
import { natsEnv, startOwnNats, type OwnNats } from './nats-fixtures';

let nats: OwnNats;
let t: TestApp;
let fleetA: Fleet;
let fleetB: Fleet;
const env = natsEnv();
const prefix = env.NATS_SUBJECT_PREFIX!;
const conns: NatsConnection[] = [];
const T0 = 1_767_225_600_000;

/**
 * The operator's setup of docs/live-streams.md: Tributary in its own account, each organisation
 * in an account that imports only its organisation's subjects (and keeps its own stream of them).
 */
const serverConfig = () => `
accounts {
  TRIBUTARY: {
    jetstream: enabled
    users: [ { user: tributary, password: tributary-secret } ]
    exports: [
      { stream: "${prefix}.org-a.>", accounts: [ORG_A] }
      { stream: "${prefix}.org-b.>", accounts: [ORG_B] }
    ]
  }
  ORG_A: {
    jetstream: enabled
    users: [ { user: reader-a, password: a-secret } ]
    imports: [ { stream: { account: TRIBUTARY, subject: "${prefix}.org-a.>" } } ]
  }
  ORG_B: {
    jetstream: enabled
    users: [ { user: reader-b, password: b-secret } ]
    imports: [ { stream: { account: TRIBUTARY, subject: "${prefix}.org-b.>" } } ]
  }
}
`;

async function reader(user: string, pass: string): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url, user, pass });
  conns.push(nc);
  return nc;
}

function collect(nc: NatsConnection, subject: string): Msg[] {
  const got: Msg[] = [];
  nc.subscribe(subject, { callback: (err, m) => void (err ? undefined : got.push(m)) });
  return got;
}

beforeAll(async () => {
  nats = await startOwnNats(serverConfig);
  t = await startTestApp({ ...env, NATS_URL: nats.url, NATS_USER: 'tributary', NATS_PASSWORD: 'tributary-secret' });
  await liveOf(t.app.deps).hub.ready();
  await t.tenant('org-a');
  await t.tenant('org-b');
  fleetA = await createFleet(t.db, 'org-a', 'ia', 1, 2);
  fleetB = await createFleet(t.db, 'org-b', 'ib', 1, 3);
});
afterAll(async () => {
  for (const nc of conns) await nc.close();
  await t?.close();
  await nats?.dispose();
});

describe('organisation isolation on NATS', () => {
  it("gives each organisation's credentials its own subjects only", async () => {
    const a = await reader('reader-a', 'a-secret');
    const b = await reader('reader-b', 'b-secret');
    // NOTE: an organisation keeps a stream of its own subjects in its own account, for replay.
    const jsmA = await jetstreamManager(a);
    await jsmA.streams.add({ name: 'ORG_A_LIVE', subjects: [`${prefix}.org-a.>`] });
    const allA = collect(a, `${prefix}.>`);
    const allB = collect(b, `${prefix}.>`);
    const otherFromA = collect(a, `${prefix}.org-b.>`);
    const otherFromB = collect(b, `${prefix}.org-a.>`);
    await a.flush();
    await b.flush();
    await ingestBatch(t.app.deps, batchOf(fleetA, { points: fleetA.devices.map((d, i) => point(fleetA, d, 'temp', T0 + i, i)) }));
    await ingestBatch(t.app.deps, batchOf(fleetB, { points: fleetB.devices.map((d, i) => point(fleetB, d, 'temp', T0 + i, 10 + i)) }));
    await waitFor(() => allA.length === 2 && allB.length === 3, 'each organisation its own messages');
    await new Promise((r) => setTimeout(r, 300));
    expect(allA.map((m) => m.subject.split('.')[2])).toEqual(['org-a', 'org-a']);
    expect(allB.map((m) => m.subject.split('.')[2])).toEqual(['org-b', 'org-b', 'org-b']);
    expect(allA.flatMap((m) => (m.json() as { points: { value: number }[] }).points.map((p) => p.value)).sort()).toEqual([0, 1]);
    expect(otherFromA).toEqual([]);
    expect(otherFromB).toEqual([]);
    expect((await jsmA.streams.info('ORG_A_LIVE')).state.messages).toBe(2);
    // The organisation's account does not see Tributary's stream at all.
    await expect(jsmA.streams.info(env.NATS_STREAM!)).rejects.toThrow(/not found/i);
  });

  it("cannot put messages into Tributary's stream with an organisation's credentials", async () => {
    const live = liveOf(t.app.deps);
    const head = await live.log.head();
    const a = await reader('reader-a', 'a-secret');
    a.publish(`${prefix}.org-a.REALTIME.iaP0.iad0x0`, JSON.stringify({ schema: 'tributary.live.v1', orgId: 'org-a', channel: 'REALTIME', points: [] }));
    a.publish(`${prefix}.org-b.REALTIME.ibP0.ibd0x0`, '{}');
    await a.flush();
    await new Promise((r) => setTimeout(r, 300));
    expect(await live.log.head()).toBe(head);
  });
});
