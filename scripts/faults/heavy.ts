import { Agent, request } from 'node:http';
import { send } from './http';
import type { PgCluster } from './pg-cluster';
import type { Service } from './service';
import type { IngestTarget } from './durability';

const headersOf = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });
const percentile = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]! : NaN);

/**
 * Posts a query and reads its answer as a stream: its status, Retry-After, size and first bytes
 * (errors come first in a GraphQL response), so that the client's own work on large answers
 * does not delay its probes.
 */
function postCounting(agent: Agent, url: string, token: string, body: string): Promise<{ status: number; retryAfter: string | undefined; bytes: number; head: string }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: '/graphql', method: 'POST', agent, headers: { ...headersOf(token), 'content-length': String(Buffer.byteLength(body)) }, timeout: 60_000 }, (res) => {
      let bytes = 0;
      let head = '';
      res.on('data', (c: Buffer) => {
        if (head.length < 200) head += c.subarray(0, 200).toString();
        bytes += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], bytes, head }));
      res.on('error', () => resolve({ status: 0, retryAfter: undefined, bytes, head }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', () => resolve({ status: 0, retryAfter: undefined, bytes: 0, head: '' }));
    req.end(body);
  });
}

/** The range of the heaviest legal aggregate: 1-second buckets over 11.5 days (993,600 buckets, under QUERY_MAX_RESPONSE_VALUES). */
const RANGE_MS = 11.5 * 86_400_000;

/**
 * Stores one value of point p0 of the first device every `stepS` seconds over the heavy range
 * from `from`, straight into the database (the scenario is about reading it).
 */
export async function seedHeavyRange(cluster: PgCluster, db: string, assetId: string, from: number, stepS: number): Promise<number> {
  const n = Math.floor(RANGE_MS / 1000 / stepS);
  return cluster.sql(db, async (s) => {
    const rows = await s`
      insert into point_data (time, device_id, point_id, num)
      select to_timestamp(${from / 1000}::float8 + g * ${stepS}::int), d.id, f.id, (g % 1000)::float8
      from devices d
      join products p on p.id = d.product_id
      join model_features f on f.model_id = p.model_id and f.kind = 'MEASUREPOINT' and f.identifier = 'p0'
      cross join generate_series(0, ${n - 1}::int) as g
      where d.asset_id = ${assetId}
      on conflict do nothing`;
    return rows.count;
  });
}

/** What the heavy-query scenario saw. */
export interface HeavyResult {
  /** Heavy queries answered in full (after retrying on 429 as Retry-After says). */
  readonly completed: number;
  /** 429 answers on the way (the heavy-query lane), and those without Retry-After. */
  readonly refused429: number;
  readonly missingRetryAfter: number;
  /** Answers other than 200 and 429, or none. */
  readonly failed: number;
  /** Status and start of the first failed answer. */
  readonly firstFailure: string | undefined;
  /** Bytes of one complete answer. */
  readonly responseBytes: number;
  readonly seconds: number;
  readonly healthzP99Ms: number;
  readonly healthzMaxMs: number;
  /** A light query of the same organisation, run back to back meanwhile. */
  readonly lightP99Ms: number;
  readonly peakRssMb: number;
}

/**
 * Runs `clients` of the heaviest legal aggregate at once (pointAggregates, fill PREVIOUS, 1-second
 * buckets over 11.5 days), each retrying after a 429 as its Retry-After says, while /healthz and a
 * light query are probed back to back; latency of both, and the service's peak RSS.
 */
export async function heavyQueries(target: IngestTarget, service: Service, from: number, clients: number, deadlineS: number): Promise<HeavyResult> {
  const query = `query($a: ID!) { pointAggregates(devices: { assetIds: [$a] }, aggregates: [{ point: "p0", function: AVG }], from: ${from}, to: ${from + RANGE_MS}, interval: "1 second", fill: PREVIOUS) { assetId times columns { values } } }`;
  const body = JSON.stringify({ query, variables: { a: target.assetIds[0] } });
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  let done = false;
  const healthz: number[] = [];
  const light: number[] = [];
  const probe = async (path: string, out: number[], payload?: string) => {
    const a = new Agent({ keepAlive: true, maxSockets: 1 });
    while (!done) {
      const r = payload ? await send(a, target.url, 'POST', path, headersOf(target.token), payload, 30_000) : await send(a, target.url, 'GET', path, {}, undefined, 30_000);
      out.push(r.status === 200 ? r.ms : Infinity);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    a.destroy();
  };
  const probes = [probe('/healthz', healthz), probe('/graphql', light, JSON.stringify({ query: '{ devices(first: 5) { totalCount } }' }))];
  let refused429 = 0;
  let missingRetryAfter = 0;
  let failed = 0;
  let responseBytes = 0;
  let firstFailure: string | undefined;
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: clients }, async () => {
      const deadline = performance.now() + deadlineS * 1000;
      while (performance.now() < deadline) {
        const r = await postCounting(agent, target.url, target.token, body);
        if (r.status === 429) {
          refused429++;
          if (!r.retryAfter) missingRetryAfter++;
          await new Promise((resolve) => setTimeout(resolve, Number(r.retryAfter ?? 1) * 1000));
          continue;
        }
        if (r.status === 200 && r.head.startsWith('{"data"')) {
          responseBytes = r.bytes;
          return true;
        }
        failed++;
        firstFailure ??= `${r.status} ${r.head}`;
        return false;
      }
      failed++;
      firstFailure ??= `no answer in full within ${deadlineS} s`;
      return false;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  done = true;
  await Promise.all(probes);
  agent.destroy();
  return {
    completed: results.filter(Boolean).length,
    refused429,
    missingRetryAfter,
    failed,
    firstFailure,
    responseBytes,
    seconds,
    healthzP99Ms: percentile(healthz, 99),
    healthzMaxMs: healthz.length ? Math.max(...healthz) : NaN,
    lightP99Ms: percentile(light, 99),
    peakRssMb: service.peakRssMb(),
  };
}
