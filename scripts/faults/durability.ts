import { Agent } from 'node:http';
import { send } from './http';
import type { PgCluster } from './pg-cluster';
import { secondsUntil, type Service } from './service';
import { acknowledged, batchBody, POINTS } from './setup';

/** Ingest target: service URL, token, devices. */
export interface IngestTarget {
  readonly url: string;
  readonly token: string;
  readonly assetIds: readonly string[];
}

const headersOf = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });

/** Values stored per timestamp in [from, to) (one batch per timestamp). */
async function storedPerTime(cluster: PgCluster, db: string, from: number, to: number): Promise<Map<number, number>> {
  const rows = await cluster.sql(db, (s) => s`select (extract(epoch from time) * 1000)::bigint::text as t, count(*)::int as n from point_data where time >= ${new Date(from)} and time < ${new Date(to)} group by time`);
  return new Map(rows.map((r) => [Number(r['t']), r['n'] as number]));
}

/**
 * Sustained ingest from `clients` loops, each batch at its own timestamp; kill -9 after `killAfterMs`.
 * Returns the acknowledged values and how many of them the database does not hold.
 */
export async function killDuringIngest(target: IngestTarget, service: Service, cluster: PgCluster, db: string, base: number, clients: number, killAfterMs: number): Promise<{ acknowledged: number; lost: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const perBatch = target.assetIds.length * POINTS.length;
  const acked: number[] = [];
  let next = 0;
  let killed = false;
  const loops = Array.from({ length: clients }, async () => {
    while (!killed) {
      const time = base + next++ * 1000;
      const r = await send(agent, target.url, 'POST', '/graphql', headersOf(target.token), batchBody(target.assetIds, time), 10_000);
      if (acknowledged(r.status, r.body, perBatch)) acked.push(time);
    }
  });
  await new Promise((r) => setTimeout(r, killAfterMs));
  killed = true;
  await service.kill('SIGKILL');
  await Promise.all(loops);
  agent.destroy();
  const stored = await storedPerTime(cluster, db, base, base + next * 1000 + 1);
  const lost = acked.reduce((sum, t) => sum + (perBatch - (stored.get(t) ?? 0)), 0);
  return { acknowledged: acked.length * perBatch, lost };
}

/** The same batch sent `times` in a row and `times` at once (client retries); rows beyond one copy of it. */
export async function duplicatesAfterRetries(target: IngestTarget, cluster: PgCluster, db: string, time: number, times: number): Promise<{ extraRows: number; acknowledged: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: times });
  const body = batchBody(target.assetIds, time);
  const perBatch = target.assetIds.length * POINTS.length;
  let ok = 0;
  for (let i = 0; i < times; i++) if (acknowledged(...statusBody(await send(agent, target.url, 'POST', '/graphql', headersOf(target.token), body)), perBatch)) ok++;
  const parallel = await Promise.all(Array.from({ length: times }, () => send(agent, target.url, 'POST', '/graphql', headersOf(target.token), body)));
  ok += parallel.filter((r) => acknowledged(r.status, r.body, perBatch)).length;
  agent.destroy();
  const stored = (await storedPerTime(cluster, db, time, time + 1)).get(time) ?? 0;
  return { extraRows: stored - perBatch, acknowledged: ok };
}

const statusBody = (r: { status: number; body: string }): [number, string] => [r.status, r.body];

/** Whether the service is ready and answers a query that needs the database. */
async function serving(url: string, token: string): Promise<boolean> {
  const agent = new Agent();
  try {
    const ready = await send(agent, url, 'GET', '/readyz', {}, undefined, 2_000);
    if (ready.status !== 200) return false;
    const q = await send(agent, url, 'POST', '/graphql', headersOf(token), JSON.stringify({ query: '{ devices(first: 5) { totalCount } }' }), 2_000);
    return q.status === 200 && !q.body.includes('"errors"');
  } finally {
    agent.destroy();
  }
}

/** Seconds from the database's return (after a fast restart) until the service serves again. */
export async function readyAfterRestart(target: IngestTarget, cluster: PgCluster): Promise<number> {
  await cluster.restart();
  return secondsUntil(() => serving(target.url, target.token), 60);
}

/**
 * Terminates the service's database backends `times` times, `gapMs` apart, under light ingest;
 * seconds from the last termination until it serves again, and 5xx other than 503 seen meanwhile.
 */
export async function readyAfterTerminations(target: IngestTarget, cluster: PgCluster, times: number, gapMs: number, base: number): Promise<{ seconds: number; other5xx: number; responses: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let stop = false;
  let other5xx = 0;
  let responses = 0;
  let n = 0;
  const loops = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const r = await send(agent, target.url, 'POST', '/graphql', headersOf(target.token), batchBody(target.assetIds, base + n++ * 1000), 10_000);
      responses++;
      if (r.status >= 500 && r.status !== 503) other5xx++;
      if (r.status === 503) await new Promise((res) => setTimeout(res, 100));
    }
  });
  for (let i = 0; i < times; i++) {
    await cluster.terminateBackends();
    await new Promise((r) => setTimeout(r, gapMs));
  }
  const seconds = await secondsUntil(() => serving(target.url, target.token), 60);
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  return { seconds, other5xx, responses };
}

/** Latency of a 50-alias devices query (each alias reads the devices' latest values), in seconds. */
export async function wideQuerySeconds(target: IngestTarget): Promise<{ seconds: number; ok: boolean }> {
  const agent = new Agent();
  const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: latestValues(devices: { devices: [{ assetId: "${target.assetIds[i % target.assetIds.length]}" }] }) { point value }`).join(' ');
  const r = await send(agent, target.url, 'POST', '/graphql', headersOf(target.token), JSON.stringify({ query: `{ ${aliases} }` }), 30_000);
  agent.destroy();
  return { seconds: r.ms / 1000, ok: r.status === 200 && !r.body.includes('"errors"') };
}
