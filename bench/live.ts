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
 * Steps 1-3 run once per stream backend (BENCH_BACKENDS, default `postgres,nats`) on two
 * instances (this process and a forked one) sharing the database: the subscriptions are spread
 * over both and the ingest requests alternate between them. During the ingest the CPU time of
 * the PostgreSQL server (its postmaster and every backend) and of nats-server is read from /proc
 * and printed as a share of the machine's CPU, and the CPU time of each part (database,
 * nats-server, each instance, the subscribers' client) per 1,000 points. Step 4 runs on the first
 * backend. BENCH_ROUNDS=2 runs the backends twice, the second time in reverse order (A B B A), so
 * that a drift of the machine during the benchmark weighs on both alike; each backend's rates are
 * then summed over its rounds, and the JetStream to PostgreSQL-log ratio printed.
 * References in the same run: PostgreSQL NOTIFY -> LISTEN latency after a commit, and a JetStream
 * publish -> ordered-consumer delivery on the same NATS server.
 *
 * Scale via env: BENCH_SCALE=small (default: 100 subscribers, 2,000 points/s, 500 idle) | full
 * (1,000 subscribers, 20,000 points/s, 10,000 idle); or BENCH_SUBSCRIBERS, BENCH_RATE,
 * BENCH_SECONDS, BENCH_BATCH_POINTS, BENCH_DEVICES, BENCH_POINTS_PER_DEVICE, BENCH_IDLE.
 * BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the admin database;
 * BENCH_NATS_URL (default nats://127.0.0.1:4222) the NATS server with JetStream.
 * INGEST_MAX_PARALLEL_TX and DB_POOL_MAX are passed on to both service instances.
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { headers as natsHeaders, connect as natsConnect } from '@nats-io/transport-node';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import WebSocket from 'ws';
import { createOrganisation, createServiceAccount } from '../src/auth/service-accounts';
import { signTokenRequest } from '../src/auth/tokens';
import { loadConfig, type Config } from '../src/config';
import { BATCH_HEADER, DEVICE_ID_HEADER, MODEL_ID_HEADER, PART_HEADER, WIRE_SCHEMA } from '../src/live/nats/wire';
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
  /** The instances: subscriptions and ingest requests are spread over them. */
  readonly urls: readonly string[];
  readonly token: string;
  readonly assetIds: readonly string[];
  readonly productKeys: readonly string[];
  readonly pointIds: readonly string[];
}
type ChildJob =
  | { readonly role: 'subscribers'; readonly fleet: Fleet; readonly subscribers: number; readonly idle: number }
  | { readonly role: 'ingest'; readonly fleet: Fleet; readonly rate: number; readonly seconds: number; readonly batchPoints: number }
  | { readonly role: 'server'; readonly env: Record<string, string> };

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
  // NOTE: the instance alternates and moves by one every 20 subscribers (a whole mix of filters),
  // so that each instance holds the same share of each kind of filter.
  const urlOf = (i: number) => fleet.urls[(i + Math.floor(i / 20)) % fleet.urls.length]!;
  for (let i = 0; i < job.subscribers; i += 50) {
    const batch = Array.from({ length: Math.min(50, job.subscribers - i) }, (_, k) => connect(urlOf(i + k), fleet.token, [mixedFilter(fleet, i + k)], (seq, at) => received.push(seq, at)));
    sockets.push(...(await Promise.all(batch)));
  }
  process.send!({ kind: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  process.send!({ kind: 'received', received });
  for (const s of sockets) s.close(1000);
  await new Promise((r) => setTimeout(r, 1_000));
  process.send!({ kind: 'closed' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  // NOTE: without the idle phase the parent sent 'done' and may have exited already.
  if (!job.idle) process.exit(0);
  const idle: WebSocket[] = [];
  for (let i = 0; i < job.idle; i += 100) {
    const batch = Array.from({ length: Math.min(100, job.idle - i) }, (_, k) => connect(fleet.urls[0]!, fleet.token, [{ assetIds: [fleet.assetIds[(i + k) % fleet.assetIds.length]] }], () => {}));
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
      fetch(`${fleet.urls[seq % fleet.urls.length]}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fleet.token}` }, body: JSON.stringify({ query: 'mutation($items: [PointsItemInput!]!) { postMeasurePoints(items: $items) { accepted } }', variables: { items } }) })
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

/** A second instance in its own process: listens, reports its URL, stops when told. */
async function runServer(job: Extract<ChildJob, { role: 'server' }>): Promise<void> {
  const app = await createApp(loadConfig(job.env), { bootstrap: false });
  const url = await app.listen();
  process.send!({ kind: 'listening', url });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await app.stop(2000);
  process.send!({ kind: 'stopped' }, () => process.exit(0));
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

/** The raw JetStream doing the delivery part: publish (acknowledged) -> ordered-consumer delivery, p50/p99 ms. */
async function rawJetStreamLatency(url: string, n: number): Promise<{ p50: number; p99: number }> {
  const nc = await natsConnect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const name = `BENCH_RAW_${process.pid}`;
  await jsm.streams.add({ name, subjects: [`benchraw${process.pid}.>`] });
  const lat: number[] = [];
  try {
    const messages = await (await js.consumers.get(name, { deliver_policy: DeliverPolicy.New })).consume();
    const waiting: { resolve: (() => void) | null } = { resolve: null };
    void (async () => {
      for await (const m of messages) {
        lat.push(now() - Number(m.string()));
        waiting.resolve?.();
      }
    })();
    for (let i = 0; i < n; i++) {
      const got = new Promise<void>((r) => (waiting.resolve = r));
      await js.publish(`benchraw${process.pid}.x`, String(now()));
      await got;
    }
    await messages.close();
  } finally {
    await jsm.streams.delete(name).catch(() => false);
    await nc.close();
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/**
 * What JetStream's server spends per stored message, with the message the NATS backend sends for
 * one device of the benchmark (10 points, its headers and a `Nats-Msg-Id`), published in bursts of
 * 100 (one 1,000-point request) each acknowledged: CPU µs of nats-server per message without a
 * consumer, and with one ordered consumer following the stream (as each instance's hub does).
 */
async function rawJetStreamServerCost(url: string, bursts: number): Promise<{ stored: number; followed: number }> {
  // NOTE: as the backend connects (src/live/nats/backend.ts): a burst leaves in one socket write.
  const nc = await natsConnect({ servers: url, ...{ pendingLimit: 1 << 20 } });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const name = `BENCH_COST_${process.pid}`;
  const subject = (i: number) => `benchcost${process.pid}.o-bench.REALTIME.pkBench0.bench${i}`;
  const points = (t: number) => Array.from({ length: 10 }, (_, k) => ({ assetId: 'AbCdEfGh', productKey: 'pkBench0', deviceKey: 'bench0', modelId: 'Bench', identifier: `p${k}`, time: t, value: t + k / 10, quality: null }));
  const body = (t: number) => JSON.stringify({ schema: WIRE_SCHEMA, orgId: 'o-bench', channel: 'REALTIME', points: points(t), attributes: [], events: [], files: [] });
  async function publishAll(tag: string): Promise<number> {
    const before = natsCpu();
    for (let b = 0; b < bursts; b++) {
      const acks = Array.from({ length: 100 }, (_, i) => {
        const h = natsHeaders();
        h.append(DEVICE_ID_HEADER, String(i));
        h.append(MODEL_ID_HEADER, '1');
        h.append(BATCH_HEADER, `${tag}${b}`);
        h.append(PART_HEADER, `${i}/100`);
        return js.publish(subject(i), body(Date.now()), { msgID: `${tag}${b}-${i}`, headers: h });
      });
      await Promise.all(acks);
    }
    // NOTE: the consumer's deliveries end shortly after the last acknowledgement.
    await new Promise((r) => setTimeout(r, 300));
    return ((natsCpu() - before) * 1e6) / (bursts * 100);
  }
  await jsm.streams.add({ name, subjects: [`benchcost${process.pid}.>`], storage: StorageType.File });
  try {
    const stored = await publishAll('a');
    const messages = await (await js.consumers.get(name, { deliver_policy: DeliverPolicy.New })).consume({ max_messages: 1_000 });
    const drained = (async () => {
      for await (const m of messages) void m.seq;
    })();
    const followed = await publishAll('b');
    await messages.close();
    await drained;
    return { stored, followed };
  } finally {
    await jsm.streams.delete(name).catch(() => false);
    await nc.close();
  }
}

const CLK_TCK = 100;
/** CPU seconds (user + system) of a process, with those of its reaped children when `reaped`. */
function cpuOf(pid: number, reaped: boolean): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    // NOTE: after "pid (comm) ", field 3 is the state: utime, stime, cutime, cstime are fields 14-17.
    const t = (k: number) => Number(f[k - 3]);
    return (t(14) + t(15) + (reaped ? t(16) + t(17) : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}
/** Parent pid of a process (NaN when gone). */
function ppidOf(pid: number): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return NaN;
  }
}
const procPids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
/** CPU seconds of the PostgreSQL server whose postmaster is `postmaster`: it, its children, and the children it reaped. */
function postgresCpu(postmaster: number): number {
  let total = cpuOf(postmaster, true);
  for (const pid of procPids()) if (ppidOf(pid) === postmaster) total += cpuOf(pid, false);
  return total;
}
/** CPU seconds of every nats-server process. */
function natsCpu(): number {
  let total = 0;
  for (const pid of procPids()) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nats-server') total += cpuOf(pid, true);
    } catch {
      // gone
    }
  }
  return total;
}
/** Busy and total CPU seconds of the machine (all cores), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0) / CLK_TCK;
  const idle = ((f[3] ?? 0) + (f[4] ?? 0)) / CLK_TCK;
  return { busy: total - idle, total };
}

/** The figures of one backend's run. */
interface BackendRun {
  readonly backend: string;
  readonly pointsPerS: number;
  readonly points: number;
  readonly failures: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly messages: number;
  readonly messagesPerS: number;
  /** Shares of the machine's CPU time (all cores) during the ingest: PostgreSQL, nats-server, everything busy. */
  readonly dbShare: number;
  readonly natsShare: number;
  readonly busyShare: number;
  /**
   * CPU seconds per 1,000 points ingested, during the ingest: the database server, nats-server,
   * each of the two instances, and the subscribers' client process.
   */
  readonly perKPoints: { readonly database: number; readonly natsServer: number; readonly instances: readonly [number, number]; readonly subscribers: number };
  readonly idle?: string;
}

interface Scale {
  readonly subscribers: number;
  readonly rate: number;
  readonly seconds: number;
  readonly batchPoints: number;
  readonly deviceCount: number;
  readonly pointsPerDevice: number;
  readonly idleCount: number;
}

async function runBackend(backend: string, scale: Scale, admin: postgres.Sql, adminUrl: string, natsUrl: string, postmaster: number, measureIdle: boolean): Promise<BackendRun> {
  const dbName = `tributary_bench_live_${backend}_${process.pid}`;
  await admin.unsafe(`create database ${dbName}`);
  // NOTE: each backend's run starts right after a checkpoint, so that neither pays for one the run
  // before it caused (a checkpoint during a run, and the full-page images that follow it in the
  // WAL, cost the database a quarter more CPU per point); without the right to run one, the run
  // takes the database as it is.
  await admin`checkpoint`.catch(() => undefined);
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const tag = `${process.pid}`;
  const stream = `BENCH_LIVE_${tag}`;
  const envOf: Record<string, string> = {
    PORT: '0', HOST: '127.0.0.1', DATABASE_URL: u.toString(), LOG_LEVEL: env['LOG_LEVEL'] ?? 'warn', SECRET_ENCRYPTION_KEY: '11'.repeat(32), SCHEDULER_ENABLED: 'false', TIMESCALEDB: env['BENCH_TIMESCALEDB'] ?? 'require', DB_POOL_MAX: env['DB_POOL_MAX'] ?? '10',
    // Every subscriber of the benchmark comes from one address and one organisation: the limits that
    // protect a production instance from one client are raised here, as an operator serving
    // thousands of dashboards behind one proxy would.
    HTTP_MAX_CONNECTIONS: '100000', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '100000', WS_MAX_CONNECTIONS_PER_ORG: '100000',
    ...(env['INGEST_MAX_PARALLEL_TX'] ? { INGEST_MAX_PARALLEL_TX: env['INGEST_MAX_PARALLEL_TX'] } : {}),
    ...(backend === 'nats' ? { NATS_URL: natsUrl, NATS_STREAM: stream, NATS_SUBJECT_PREFIX: `bench${tag}.live` } : {}),
  };
  const config: Config = loadConfig(envOf);
  const app = await createApp(config, { bootstrap: false });
  let second: ReturnType<typeof child> | null = null;
  try {
    const url1 = await app.listen();
    const db = app.deps.db;
    await createOrganisation(db, { id: 'o-bench', name: 'Bench' });
    const { serviceAccount, secretKey } = await createServiceAccount(db, app.deps.box, { orgId: 'o-bench', name: 'bench', grants: [{ permission: 'ASSET_WRITE' }, { permission: 'ASSET_READ' }] });
    const timestamp = String(Date.now());
    const tokRes = await fetch(`${url1}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: serviceAccount.accessKey, encryption: signTokenRequest(serviceAccount.accessKey, timestamp, secretKey), timestamp }) });
    const token = ((await tokRes.json()) as { data: { accessToken: string } }).data.accessToken;
    const pointIds = Array.from({ length: scale.pointsPerDevice }, (_, k) => `p${k}`);
    await createModel(db, 'o-bench', { identifier: 'Bench', name: 'Bench', measurePoints: pointIds.map((p) => ({ identifier: p, type: { dataType: 'DOUBLE' } })) });
    const productKeys = ['pkBench0', 'pkBench1', 'pkBench2', 'pkBench3'];
    for (const pk of productKeys) await createProduct(db, 'o-bench', { productKey: pk, name: pk, modelIdentifier: 'Bench' });
    const assetIds: string[] = [];
    for (let k = 0; k < scale.deviceCount; k++) assetIds.push((await createDevice(db, 'o-bench', { productKey: productKeys[k % 4], deviceKey: `bench${k}`, name: `bench${k}` })).assetId);
    second = child({ role: 'server', env: envOf });
    const { url: url2 } = await second.next<{ url: string }>('listening');
    await liveOf(app.deps).hub.ready();
    const fleet: Fleet = { urls: [url1, url2], token, assetIds, productKeys, pointIds };

    const subs = child({ role: 'subscribers', fleet, subscribers: scale.subscribers, idle: measureIdle ? scale.idleCount : 0 });
    await subs.next('ready');
    const serverPid = second.c.pid!;
    const cpuNow = () => ({ db: postgresCpu(postmaster), nats: natsCpu(), machine: machineCpu(), instances: [cpuOf(process.pid, false), cpuOf(serverPid, false)] as const, subscribers: cpuOf(subs.c.pid!, false) });
    const cpu0 = cpuNow();
    const ingest = child({ role: 'ingest', fleet, rate: scale.rate, seconds: scale.seconds, batchPoints: scale.batchPoints });
    const ingested = await ingest.next<{ acks: (number | null)[]; failures: number; seconds: number; points: number }>('ingested');
    const cpu1 = cpuNow();
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
    const machineS = cpu1.machine.total - cpu0.machine.total;
    const perKPoint = (before: number, after: number) => (after - before) / (ingested.points / 1000);
    let idle: string | undefined;
    if (measureIdle) {
      const before = await rssAfterGc();
      subs.c.send('idle');
      const { count } = await subs.next<{ count: number }>('idle');
      const after = await rssAfterGc();
      const held = liveOf(app.deps).hub.stats().subscribers;
      const perSub = (after - before) / Math.max(1, count);
      idle =
        count >= 1000
          ? `${f(count)} held on one instance (hub reports ${f(held)}), ${(perSub / 1024).toFixed(1)} KiB per subscriber (server RSS ${f(before / 2 ** 20)} -> ${f(after / 2 ** 20)} MiB); ~${f((2 ** 30 - before) / Math.max(1, perSub))} would fit in 1 GiB`
          : `${f(count)} held (hub reports ${f(held)}); too few to measure memory (BENCH_IDLE >= 1000)`;
    }
    subs.c.send('done');
    return {
      backend,
      pointsPerS: ingested.points / ingested.seconds,
      points: ingested.points,
      failures: ingested.failures,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: lat.at(-1) ?? NaN,
      messages: lat.length,
      messagesPerS: received.length / 2 / ingested.seconds,
      dbShare: postmaster ? (cpu1.db - cpu0.db) / machineS : NaN,
      natsShare: (cpu1.nats - cpu0.nats) / machineS,
      busyShare: (cpu1.machine.busy - cpu0.machine.busy) / machineS,
      perKPoints: {
        database: postmaster ? perKPoint(cpu0.db, cpu1.db) : NaN,
        natsServer: perKPoint(cpu0.nats, cpu1.nats),
        instances: [perKPoint(cpu0.instances[0], cpu1.instances[0]), perKPoint(cpu0.instances[1], cpu1.instances[1])],
        subscribers: perKPoint(cpu0.subscribers, cpu1.subscribers),
      },
      ...(idle ? { idle } : {}),
    };
  } finally {
    if (second) {
      second.c.send('stop');
      await second.next('stopped').catch(() => undefined);
    }
    await app.stop(2000);
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    if (backend === 'nats') {
      const nc = await natsConnect({ servers: natsUrl });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
      await nc.close();
    }
  }
}

const f = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (x: number) => `${x.toFixed(1)} ms`;
const cpuMs = (seconds: number) => (Number.isFinite(seconds) ? `${(seconds * 1000).toFixed(1)} ms` : 'n/a');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : 'n/a');

/** The postmaster pid of the server at `adminUrl` (0 when it cannot be read: not on this machine). */
async function findPostmaster(admin: postgres.Sql): Promise<number> {
  try {
    const [row] = await admin<{ d: string }[]>`select current_setting('data_directory') as d`;
    return Number(readFileSync(`${row!.d}/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
}

async function main() {
  const adminUrl = env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const natsUrl = env['BENCH_NATS_URL'] ?? 'nats://127.0.0.1:4222';
  const scale: Scale = {
    subscribers: num('BENCH_SUBSCRIBERS', full ? 1000 : 100),
    rate: num('BENCH_RATE', full ? 20_000 : 2_000),
    seconds: num('BENCH_SECONDS', full ? 30 : 10),
    batchPoints: num('BENCH_BATCH_POINTS', 1000),
    deviceCount: num('BENCH_DEVICES', full ? 500 : 100),
    pointsPerDevice: num('BENCH_POINTS_PER_DEVICE', 10),
    idleCount: num('BENCH_IDLE', full ? 10_000 : 500),
  };
  const backends = (env['BENCH_BACKENDS'] ?? 'postgres,nats').split(',').map((b) => b.trim()).filter(Boolean);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const postmaster = await findPostmaster(admin);
  const runs: BackendRun[] = [];
  try {
    const rounds = num('BENCH_ROUNDS', 1);
    const order = Array.from({ length: rounds }, (_, k) => (k % 2 ? [...backends].reverse() : backends)).flat();
    for (const [i, b] of order.entries()) runs.push(await runBackend(b, scale, admin, adminUrl, natsUrl, postmaster, i === 0 && scale.idleCount > 0));
    const u = new URL(adminUrl);
    const raw = await rawNotifyLatency(u.toString(), 500);
    const rawJs = backends.includes('nats') ? await rawJetStreamLatency(natsUrl, 500) : null;
    const rawJsCost = backends.includes('nats') ? await rawJetStreamServerCost(natsUrl, full ? 200 : 50) : null;
    const lines = [
      `live bench (${full ? 'full' : 'small'} scale): two instances, ${scale.subscribers} subscribers spread over them (85% one device, 10% product + point, 5% model + point), ingest asked at ${f(scale.rate)} points/s for ${scale.seconds} s in requests of ${scale.batchPoints} points alternating between the instances, ${scale.deviceCount} devices x ${scale.pointsPerDevice} points`,
      `machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (shared machine: figures are indicative)`,
    ];
    for (const r of runs) {
      lines.push(
        `[${r.backend}] ingest reached:   ${f(r.pointsPerS)} points/s (${f(r.points)} points, ${r.failures} requests failed or skipped)`,
        `[${r.backend}] ack -> delivery:  p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, max ${ms(r.max)} (${f(r.messages)} messages, ${f(r.messagesPerS)} messages/s)`,
        `[${r.backend}] CPU during ingest: PostgreSQL ${pct(r.dbShare)}, nats-server ${pct(r.natsShare)}, whole machine busy ${pct(r.busyShare)} (shares of all cores)`,
        `[${r.backend}] CPU per 1,000 points: database ${cpuMs(r.perKPoints.database)}, nats-server ${cpuMs(r.perKPoints.natsServer)}, instances ${cpuMs(r.perKPoints.instances[0])} + ${cpuMs(r.perKPoints.instances[1])}, subscribers' client ${cpuMs(r.perKPoints.subscribers)}`,
      );
      if (r.idle) lines.push(`[${r.backend}] idle subscribers: ${r.idle}`);
    }
    const rateOf = (b: string) => {
      const rs = runs.filter((r) => r.backend === b);
      return rs.reduce((a, r) => a + r.points, 0) / rs.reduce((a, r) => a + r.points / r.pointsPerS, 0);
    };
    if (backends.includes('postgres') && backends.includes('nats')) {
      const bothAtRate = Math.min(rateOf('postgres'), rateOf('nats')) >= 0.97 * scale.rate;
      lines.push(
        `ingest over ${rounds} round(s): PostgreSQL log ${f(rateOf('postgres'))} points/s, NATS JetStream ${f(rateOf('nats'))} points/s (ratio ${(rateOf('nats') / rateOf('postgres')).toFixed(2)}${bothAtRate ? '; both reached the asked rate: a higher BENCH_RATE finds their limits' : ''})`,
      );
    }
    lines.push(`raw NOTIFY->LISTEN:  p50 ${ms(raw.p50)}, p99 ${ms(raw.p99)}`);
    if (rawJs) lines.push(`raw JetStream publish->consumer: p50 ${ms(rawJs.p50)}, p99 ${ms(rawJs.p99)}`);
    if (rawJsCost) lines.push(`raw JetStream server CPU per device message (10 points, headers, Nats-Msg-Id): ${rawJsCost.stored.toFixed(1)} µs stored, ${rawJsCost.followed.toFixed(1)} µs stored and read by one ordered consumer`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await admin.end();
  }
}

if (process.argv[2] === 'child') {
  process.once('message', (job: ChildJob) => {
    const run = job.role === 'subscribers' ? runSubscribers(job) : job.role === 'ingest' ? runIngest(job) : runServer(job);
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
