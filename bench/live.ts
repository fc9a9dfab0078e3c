/**
 * Live-subscription benchmark: `npm run bench:live`.
 *
 * Starts the service (this process) against PostgreSQL + TimescaleDB in a fresh database with a
 * model of BENCH_POINTS_PER_DEVICE DOUBLE points, 4 products and BENCH_DEVICES devices. Then:
 * 1. a subscriber process opens BENCH_SUBSCRIBERS graphql-ws subscriptions with mixed filters
 *    (85% one device, 10% a product and one point, 5% a model and one point);
 * 2. an ingest process posts postMeasurePoints over HTTP at BENCH_RATE points/s for
 *    BENCH_SECONDS, each request's values carrying its sequence number;
 * 3. latency = delivery time (subscriber) - acknowledgement time (ingest client) per message,
 *    on the shared wall clock; figures: p50/p99/max, messages delivered/s, ingest rate reached;
 * 4. the subscriber process replaces them by BENCH_IDLE idle subscribers (one connection and
 *    one subscription each); the server's RSS growth / BENCH_IDLE is the memory per subscriber.
 * Raw-database reference in the same run: PostgreSQL NOTIFY -> LISTEN latency after a commit.
 *
 * Scale via env: BENCH_SCALE=small (default: 100 subscribers, 2,000 points/s, 500 idle) | full
 * (1,000 subscribers, 20,000 points/s, 10,000 idle); or BENCH_SUBSCRIBERS, BENCH_RATE,
 * BENCH_SECONDS, BENCH_BATCH_POINTS, BENCH_DEVICES, BENCH_POINTS_PER_DEVICE, BENCH_IDLE.
 * BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the admin database.
 */
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import WebSocket from 'ws';
import { createOrganisation, createServiceAccount } from '../src/auth/service-accounts';
import { signTokenRequest } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { liveOf } from '../src/live/service';
import { createDevice } from '../src/registry/devices';
import { createModel } from '../src/registry/models';
import { createProduct } from '../src/registry/products';
import { createApp } from '../src/server/app';

const env = process.env;
const full = env['BENCH_SCALE'] === 'full';
const num = (k: string, d: number) => (env[k] ? Number(env[k]) : d);
/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

interface Fleet {
  readonly url: string;
  readonly token: string;
  readonly assetIds: readonly string[];
  readonly productKeys: readonly string[];
  readonly pointIds: readonly string[];
}
type ChildJob =
  | { readonly role: 'subscribers'; readonly fleet: Fleet; readonly subscribers: number; readonly idle: number }
  | { readonly role: 'ingest'; readonly fleet: Fleet; readonly rate: number; readonly seconds: number; readonly batchPoints: number };

const SUB = `subscription ($filter: LiveFilter) { measurePointsLive(filter: $filter) { offset points { value } } }`;

/** Opens one graphql-ws connection with `subs` subscriptions; calls onBatch(seq, receivedAt) per message. */
function connect(url: string, token: string, filters: readonly Record<string, unknown>[], onBatch: (seq: number, at: number) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { accessToken: token } })));
    ws.on('error', reject);
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; payload?: { data?: { measurePointsLive?: { points: { value: number }[] } }; errors?: unknown } };
      if (m.type === 'connection_ack') {
        filters.forEach((filter, i) => ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: SUB, variables: { filter } } })));
        resolve(ws);
      } else if (m.type === 'next') {
        const p = m.payload?.data?.measurePointsLive?.points[0];
        if (p) onBatch(p.value, now());
        else if (m.payload?.errors) process.stderr.write(`subscription error: ${JSON.stringify(m.payload.errors).slice(0, 300)}\n`);
      } else if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
    });
    ws.on('close', (code) => code !== 1000 && code !== 1005 && process.stderr.write(`subscriber closed with ${code}\n`));
  });
}

function mixedFilter(f: Fleet, i: number): Record<string, unknown> {
  const r = i % 20;
  if (r < 17) return { assetIds: [f.assetIds[i % f.assetIds.length]] };
  if (r < 19) return { productKeys: [f.productKeys[i % f.productKeys.length]], identifiers: [f.pointIds[i % f.pointIds.length]] };
  return { modelIds: ['Bench'], identifiers: [f.pointIds[i % f.pointIds.length]] };
}

async function runSubscribers(job: Extract<ChildJob, { role: 'subscribers' }>): Promise<void> {
  const { fleet } = job;
  const received: number[] = []; // pairs: seq, at
  const sockets: WebSocket[] = [];
  for (let i = 0; i < job.subscribers; i += 50) {
    const batch = Array.from({ length: Math.min(50, job.subscribers - i) }, (_, k) => connect(fleet.url, fleet.token, [mixedFilter(fleet, i + k)], (seq, at) => received.push(seq, at)));
    sockets.push(...(await Promise.all(batch)));
  }
  process.send!({ kind: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  process.send!({ kind: 'received', received });
  for (const s of sockets) s.close(1000);
  await new Promise((r) => setTimeout(r, 1_000));
  process.send!({ kind: 'closed' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const idle: WebSocket[] = [];
  for (let i = 0; i < job.idle; i += 100) {
    const batch = Array.from({ length: Math.min(100, job.idle - i) }, (_, k) => connect(fleet.url, fleet.token, [{ assetIds: [fleet.assetIds[(i + k) % fleet.assetIds.length]] }], () => {}));
    idle.push(...(await Promise.all(batch)));
  }
  await new Promise((r) => setTimeout(r, 1_000));
  process.send!({ kind: 'idle', count: idle.length });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  for (const s of idle) s.terminate();
  process.exit(0);
}

async function runIngest(job: Extract<ChildJob, { role: 'ingest' }>): Promise<void> {
  const { fleet } = job;
  const perItem = fleet.pointIds.length;
  const itemsPerRequest = Math.max(1, Math.floor(job.batchPoints / perItem));
  const requests = Math.round((job.rate * job.seconds) / (itemsPerRequest * perItem));
  const intervalMs = (job.seconds * 1000) / requests;
  const acks: number[] = [];
  let failures = 0;
  let inflight = 0;
  let device = 0;
  const started = now();
  const pending: Promise<void>[] = [];
  for (let seq = 0; seq < requests; seq++) {
    const due = started + seq * intervalMs;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (inflight >= 16) {
      failures++;
      continue;
    }
    const items = Array.from({ length: itemsPerRequest }, () => {
      const values: Record<string, number> = {};
      for (const p of fleet.pointIds) values[p] = seq;
      return { assetId: fleet.assetIds[device++ % fleet.assetIds.length], time: Math.floor(due) + seq, values };
    });
    inflight++;
    pending.push(
      fetch(`${fleet.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fleet.token}` }, body: JSON.stringify({ query: 'mutation($items: [PointsItemInput!]!) { postMeasurePoints(items: $items) { accepted } }', variables: { items } }) })
        .then(async (res) => {
          const body = (await res.json()) as { errors?: unknown };
          if (body.errors) throw new Error(JSON.stringify(body.errors).slice(0, 300));
          acks[seq] = now();
        })
        .catch((e: unknown) => {
          failures++;
          if (failures < 3) process.stderr.write(`ingest failed: ${(e as Error).message}\n`);
        })
        .finally(() => inflight--),
    );
  }
  await Promise.all(pending);
  const seconds = (now() - started) / 1000;
  process.send!({ kind: 'ingested', acks, failures, seconds, points: acks.filter(Boolean).length * itemsPerRequest * perItem }, () => process.exit(0));
}

function child(job: ChildJob) {
  const c = fork(fileURLToPath(import.meta.url), ['child'], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], execArgv: process.execArgv });
  c.send(job);
  const next = <T>(kind: string) =>
    new Promise<T>((resolve, reject) => {
      const on = (m: { kind: string }) => {
        if (m.kind !== kind) return;
        c.off('message', on);
        resolve(m as T);
      };
      c.on('message', on);
      c.once('exit', (code) => code && reject(new Error(`${job.role} exited with ${code}`)));
    });
  return { c, next };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

async function rssAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  return process.memoryUsage().rss;
}

/** The raw database doing the delivery part: NOTIFY after a commit -> LISTEN callback, p50/p99 ms. */
async function rawNotifyLatency(url: string, n: number): Promise<{ p50: number; p99: number }> {
  const listener = postgres(url, { max: 1, onnotice: () => {} });
  const writer = postgres(url, { max: 1, onnotice: () => {} });
  const lat: number[] = [];
  let resolveOne: (() => void) | null = null;
  await listener.listen('bench_raw', (payload) => {
    lat.push(now() - Number(payload));
    resolveOne?.();
  });
  for (let i = 0; i < n; i++) {
    const got = new Promise<void>((r) => (resolveOne = r));
    await writer`select pg_notify('bench_raw', ${String(now())})`;
    await got;
  }
  await listener.end();
  await writer.end();
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function main() {
  const adminUrl = env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const subscribers = num('BENCH_SUBSCRIBERS', full ? 1000 : 100);
  const rate = num('BENCH_RATE', full ? 20_000 : 2_000);
  const seconds = num('BENCH_SECONDS', full ? 30 : 10);
  const batchPoints = num('BENCH_BATCH_POINTS', 1000);
  const deviceCount = num('BENCH_DEVICES', full ? 500 : 100);
  const pointsPerDevice = num('BENCH_POINTS_PER_DEVICE', 10);
  const idleCount = num('BENCH_IDLE', full ? 10_000 : 500);
  const dbName = `tributary_bench_live_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: u.toString(), LOG_LEVEL: env['LOG_LEVEL'] ?? 'warn', SECRET_ENCRYPTION_KEY: '11'.repeat(32), SCHEDULER_ENABLED: 'false', TIMESCALEDB: env['BENCH_TIMESCALEDB'] ?? 'require', DB_POOL_MAX: env['DB_POOL_MAX'] ?? '10',
    // Every subscriber of the benchmark comes from one address and one organisation: the limits that
    // protect a production instance from one client are raised here, as an operator serving
    // thousands of dashboards behind one proxy would.
    HTTP_MAX_CONNECTIONS: '100000', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '100000', WS_MAX_CONNECTIONS_PER_ORG: '100000',
  });
  const app = await createApp(config, { bootstrap: false });
  try {
    const url = await app.listen();
    const db = app.deps.db;
    await createOrganisation(db, { id: 'o-bench', name: 'Bench' });
    const { serviceAccount, secretKey } = await createServiceAccount(db, app.deps.box, { orgId: 'o-bench', name: 'bench', grants: [{ permission: 'ASSET_WRITE' }, { permission: 'ASSET_READ' }] });
    const timestamp = String(Date.now());
    const tokRes = await fetch(`${url}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: serviceAccount.accessKey, encryption: signTokenRequest(serviceAccount.accessKey, timestamp, secretKey), timestamp }) });
    const token = ((await tokRes.json()) as { data: { accessToken: string } }).data.accessToken;
    const pointIds = Array.from({ length: pointsPerDevice }, (_, k) => `p${k}`);
    await createModel(db, 'o-bench', { identifier: 'Bench', name: 'Bench', measurePoints: pointIds.map((p) => ({ identifier: p, type: { dataType: 'DOUBLE' } })) });
    const productKeys = ['pkBench0', 'pkBench1', 'pkBench2', 'pkBench3'];
    for (const pk of productKeys) await createProduct(db, 'o-bench', { productKey: pk, name: pk, modelIdentifier: 'Bench' });
    const assetIds: string[] = [];
    for (let k = 0; k < deviceCount; k++) assetIds.push((await createDevice(db, 'o-bench', { productKey: productKeys[k % 4], deviceKey: `bench${k}`, name: `bench${k}` })).assetId);
    const fleet: Fleet = { url, token, assetIds, productKeys, pointIds };

    const subs = child({ role: 'subscribers', fleet, subscribers, idle: idleCount });
    await subs.next('ready');
    const ingest = child({ role: 'ingest', fleet, rate, seconds, batchPoints });
    const ingested = await ingest.next<{ acks: (number | null)[]; failures: number; seconds: number; points: number }>('ingested');
    await new Promise((r) => setTimeout(r, 1_500));
    subs.c.send('report');
    const { received } = await subs.next<{ received: number[] }>('received');
    await subs.next('closed');

    const lat: number[] = [];
    for (let i = 0; i < received.length; i += 2) {
      const ack = ingested.acks[received[i]!];
      if (ack) lat.push(Math.max(0, received[i + 1]! - ack));
    }
    lat.sort((a, b) => a - b);
    const messages = received.length / 2;
    const raw = await rawNotifyLatency(u.toString(), 500);

    const before = await rssAfterGc();
    subs.c.send('idle');
    const { count } = await subs.next<{ count: number }>('idle');
    const after = await rssAfterGc();
    const held = liveOf(app.deps).hub.stats().subscribers;
    subs.c.send('done');
    const perSub = (after - before) / Math.max(1, count);

    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    process.stdout.write(
      [
        `live bench (${full ? 'full' : 'small'} scale): ${subscribers} subscribers (85% one device, 10% product + point, 5% model + point), ingest ${f(rate)} points/s for ${seconds} s in requests of ${batchPoints} points, ${deviceCount} devices x ${pointsPerDevice} points, timescale=${app.deps.database.timescale}`,
        `machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (shared machine: figures are indicative)`,
        `ingest reached:      ${f(ingested.points / ingested.seconds)} points/s (${f(ingested.points)} points, ${ingested.failures} requests failed or skipped)`,
        `ack -> delivery:     p50 ${ms(percentile(lat, 50))}, p99 ${ms(percentile(lat, 99))}, max ${ms(lat.at(-1) ?? NaN)} (${f(lat.length)} messages)`,
        `raw NOTIFY->LISTEN:  p50 ${ms(raw.p50)}, p99 ${ms(raw.p99)}; ratio p99 live / raw ${(percentile(lat, 99) / raw.p99).toFixed(1)}`,
        `messages delivered:  ${f(messages / ingested.seconds)} messages/s`,
        count >= 1000
          ? `idle subscribers:    ${f(count)} held (hub reports ${f(held)}), ${(perSub / 1024).toFixed(1)} KiB per subscriber (server RSS ${f(before / 2 ** 20)} -> ${f(after / 2 ** 20)} MiB); ~${f((2 ** 30 - before) / Math.max(1, perSub))} would fit in 1 GiB`
          : `idle subscribers:    ${f(count)} held (hub reports ${f(held)}); too few to measure memory (BENCH_IDLE >= 1000)`,
      ].join('\n') + '\n',
    );
  } finally {
    await app.stop(2000);
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

if (process.argv[2] === 'child') {
  process.once('message', (job: ChildJob) => {
    const run = job.role === 'subscribers' ? runSubscribers(job) : runIngest(job);
    run.catch((e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    });
  });
} else {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
