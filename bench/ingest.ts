/**
 * Ingest benchmark: `npm run bench:ingest`.
 *
 * Starts the service (this process) against PostgreSQL + TimescaleDB in a fresh database,
 * creates a model, a product and devices, then forks a client process that posts batches of
 * points over HTTP with several concurrent clients. Prints, from one run:
 * - points/s end to end (HTTP + GraphQL + validation + storage, acknowledged = committed);
 * - the database's own rate for inserting the same number of rows into the same tables
 *   (point_data and latest_values) with `INSERT ... SELECT` server side, and the ratio;
 * - single-point requests through the EnOS REST API (multipart, as devices send) and through the
 *   GraphQL mutation, with 16 and 256 concurrent keep-alive clients: requests/s, p50/p99 latency,
 *   the CPU time the serving process spends per request, and each path's ratio to the floor
 *   measured beside it: a bare `node:http` handler in this process that parses the same body and
 *   upserts the row with one `INSERT ... ON CONFLICT` over postgres.js (bench/single-point.ts).
 *   Floor and service take turns for BENCH_SINGLE_ROUNDS rounds (3 at full scale); each figure is
 *   the median of its rounds;
 * - bytes stored per point in each table a point touches (table with its indexes).
 *
 * Scale via env: BENCH_SCALE=small (default) | full, or BENCH_BATCHES, BENCH_BATCH_POINTS,
 * BENCH_CLIENTS, BENCH_DEVICES, BENCH_POINTS_PER_DEVICE, BENCH_SINGLE_REQUESTS (per run),
 * BENCH_SINGLE_CLIENTS (comma-separated concurrencies, default 16,256), BENCH_SINGLE_PATHS
 * (default graphql,rest), BENCH_SINGLE_ROUNDS, BENCH_SINGLE_ONLY=1 (skip the batch figures);
 * BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the admin database
 * in which the bench database is created and dropped; BENCH_NATS_URL puts the live stream on that
 * NATS server's JetStream (a stream of the run's own) instead of the database log.
 */
import { fork } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { Agent } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { batchBodies, gql, postAll } from './post-points';
import { latencyText, runSingle, singlePointRequests, startFloor, type BodyKind, type SingleRun } from './single-point';
import { createOrganisation, createServiceAccount } from '../src/auth/service-accounts';
import { signTokenRequest } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { createApp } from '../src/server/app';

interface ClientJob {
  readonly url: string;
  readonly token: string;
  readonly assetIds: readonly string[];
  readonly pointIds: readonly string[];
  readonly batches: number;
  readonly batchPoints: number;
  readonly clients: number;
  readonly orgId: string;
  readonly floorUrl: string;
  /** Single-point runs, in order: each path beside its floor. */
  readonly singleRuns: readonly SingleSpec[];
  readonly singleRequests: number;
  readonly startTime: number;
}

/** One single-point run: the body kind, sent to the service or to the floor, with `clients` loops. */
interface SingleSpec {
  readonly kind: BodyKind;
  readonly target: 'service' | 'floor';
  readonly clients: number;
}

interface ClientReport {
  readonly points: number;
  readonly batchSeconds: number;
  readonly failures: number;
  readonly single: readonly (SingleSpec & SingleRun & { readonly cpuMs: number })[];
}

/**
 * CPU time (user + system, ms) the service's process has used so far, asked of it over the IPC
 * channel: the service and the floor run in that process, one after the other, so a run's CPU
 * per request is the difference across the run.
 */
function serverCpuMs(): Promise<number> {
  return new Promise((resolve) => {
    process.once('message', (m) => resolve((m as { cpuMs: number }).cpuMs));
    process.send!({ cpu: true });
  });
}

const env = process.env;
const full = env['BENCH_SCALE'] === 'full';
const num = (k: string, d: number) => (env[k] ? Number(env[k]) : d);

/** The client process: concurrent loops posting prepared bodies. */
async function runClient(job: ClientJob): Promise<ClientReport> {
  const agent = new Agent({ keepAlive: true, maxSockets: Math.max(job.clients, ...job.singleRuns.map((r) => r.clients)) });
  const bodies = batchBodies({ ...job, stepMs: 1 });
  const batch = job.batches ? await postAll(agent, job, bodies, job.clients) : { points: 0, failures: 0, seconds: 0 };
  // Single-point values after every batch value (the batch times move by at most 1 ms per item); each run its own times.
  let t = job.startTime + job.batches * job.batchPoints + 10;
  const single: (SingleSpec & SingleRun & { cpuMs: number })[] = [];
  const warmup = Math.min(500, job.singleRequests);
  for (const spec of job.singleRuns) {
    const url = spec.target === 'floor' ? job.floorUrl : job.url;
    // Bodies are serialised before the clock starts: the client shares the 2 cores with the service.
    const requests = singlePointRequests(spec.kind, { ...job, pointId: job.pointIds[0]!, startTime: t, count: warmup + job.singleRequests });
    t += requests.length + 10;
    await runSingle(agent, url, requests.slice(0, warmup), spec.clients);
    const cpuBefore = await serverCpuMs();
    const run = await runSingle(agent, url, requests.slice(warmup), spec.clients);
    single.push({ ...spec, ...run, cpuMs: (await serverCpuMs()) - cpuBefore });
  }
  agent.destroy();
  return { points: batch.points, batchSeconds: batch.seconds, failures: batch.failures, single };
}

async function main() {
  const adminUrl = env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const batches = num('BENCH_BATCHES', full ? 600 : 40);
  const batchPoints = num('BENCH_BATCH_POINTS', 1000);
  const clients = num('BENCH_CLIENTS', 4);
  const deviceCount = num('BENCH_DEVICES', full ? 200 : 50);
  const pointsPerDevice = num('BENCH_POINTS_PER_DEVICE', 10);
  const singleRequests = num('BENCH_SINGLE_REQUESTS', full ? 20_000 : 2_000);
  const singleClients = (env['BENCH_SINGLE_CLIENTS'] ?? '16,256').split(',').map(Number);
  const singlePaths = (env['BENCH_SINGLE_PATHS'] ?? 'graphql,rest').split(',') as BodyKind[];
  const singleRounds = num('BENCH_SINGLE_ROUNDS', full ? 3 : 1);
  const singleRuns: SingleSpec[] = singleClients.flatMap((c) =>
    singlePaths.flatMap((kind) => Array.from({ length: singleRounds }, () => [{ kind, target: 'floor' as const, clients: c }, { kind, target: 'service' as const, clients: c }]).flat()),
  );
  const singleOnly = env['BENCH_SINGLE_ONLY'] === '1';
  const loadBefore = loadavg();
  const dbName = `tributary_bench_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const natsUrl = env['BENCH_NATS_URL'];
  const stream = `BENCH_INGEST_${process.pid}`;
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', DATABASE_URL: u.toString(), LOG_LEVEL: env['LOG_LEVEL'] ?? 'warn', SECRET_ENCRYPTION_KEY: '11'.repeat(32), SCHEDULER_ENABLED: 'false', TIMESCALEDB: env['BENCH_TIMESCALEDB'] ?? 'auto', DB_POOL_MAX: env['DB_POOL_MAX'] ?? '10', INGEST_GROUP_COMMIT: env['INGEST_GROUP_COMMIT'] ?? 'true',
    ...(env['INGEST_MAX_PARALLEL_TX'] ? { INGEST_MAX_PARALLEL_TX: env['INGEST_MAX_PARALLEL_TX'] } : {}),
    ...(natsUrl ? { NATS_URL: natsUrl, NATS_STREAM: stream, NATS_SUBJECT_PREFIX: `benchingest${process.pid}.live` } : {}),
  });
  const app = await createApp(config, { bootstrap: false });
  try {
    const url = await app.listen();
    const db = app.deps.db;
    await createOrganisation(db, { id: 'o-bench', name: 'Bench' });
    const { serviceAccount, secretKey } = await createServiceAccount(db, app.deps.box, { orgId: 'o-bench', name: 'bench', grants: [{ permission: 'REGISTRY_FULL' }, { permission: 'ASSET_WRITE' }, { permission: 'ASSET_READ' }] });
    const timestamp = String(Date.now());
    const tokRes = await fetch(`${url}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: serviceAccount.accessKey, encryption: signTokenRequest(serviceAccount.accessKey, timestamp, secretKey), timestamp }) });
    const token = ((await tokRes.json()) as { data: { accessToken: string } }).data.accessToken;
    const pointIds = Array.from({ length: pointsPerDevice }, (_, k) => `p${k}`);
    await gql(url, token, 'mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }', { i: { identifier: 'Bench', name: 'Bench', measurePoints: pointIds.map((p) => ({ identifier: p, type: { dataType: 'DOUBLE' } })) } });
    await gql(url, token, 'mutation($i: CreateProductInput!) { createProduct(input: $i) { productKey } }', { i: { productKey: 'pkBench', name: 'Bench', modelIdentifier: 'Bench' } });
    const assetIds: string[] = [];
    for (let k = 0; k < deviceCount; k++) assetIds.push((await gql(url, token, 'mutation($i: CreateDeviceInput!) { createDevice(input: $i) { assetId } }', { i: { productKey: 'pkBench', deviceKey: `bench${k}`, name: `bench${k}` } }))['createDevice'].assetId);

    const sql = postgres(u.toString(), { max: clients, onnotice: () => {} });
    const [ids] = await sql<{ d: number[]; p: number[] }[]>`select (select array_agg(id order by id) from devices) as d, (select array_agg(id order by id) from model_features where kind = 'MEASUREPOINT') as p`;
    const deviceIds = new Map((await sql<{ asset_id: string; id: number }[]>`select asset_id, id from devices`).map((r) => [r.asset_id, r.id]));
    const featureIds = new Map((await sql<{ identifier: string; id: number }[]>`select identifier, id from model_features where kind = 'MEASUREPOINT'`).map((r) => [r.identifier, r.id]));
    const floor = await startFloor(u.toString(), config.DB_POOL_MAX, deviceIds, featureIds);
    const job: ClientJob = { url, token, orgId: 'o-bench', floorUrl: floor.url, assetIds, pointIds, batches: singleOnly ? 0 : batches, batchPoints, clients, singleRuns, singleRequests, startTime: 1_700_000_000_000 };
    const rows = batches * batchPoints;
    let epoch = 0;
    // The database's own rate: the same rows (count, tables, batch size, concurrency) generated server side.
    const measureDb = async () => {
      const base = `${2030 + epoch++}-01-01`;
      const series = ids!.d.length * ids!.p.length;
      let nextOff = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (nextOff < rows) {
            const off = nextOff;
            nextOff += batchPoints;
            const n = Math.min(batchPoints, rows - off);
            await sql.begin(async (tx) => {
              await tx`with u as materialized (
                         select ${base}::timestamptz + ((${off}::int8 + g) / ${series}) * interval '1 millisecond' as t,
                                (${ids!.d}::int4[])[1 + ((${off}::int8 + g) / ${ids!.p.length}) % ${ids!.d.length}] as d,
                                (${ids!.p}::int4[])[1 + (${off}::int8 + g) % ${ids!.p.length}] as p, random() * 1000 as v
                         from generate_series(0, ${n - 1}) g),
                       h as (insert into point_data (time, device_id, point_id, num, offline) select t, d, p, v, false from u
                             on conflict (device_id, point_id, time) do update set num = excluded.num)
                       insert into latest_values (device_id, point_id, time, num, updated_at)
                       select distinct on (d, p) d, p, t, v, now() from u order by d, p, t desc
                       on conflict (device_id, point_id) do update set time = excluded.time, num = excluded.num, updated_at = now() where excluded.time >= latest_values.time`;
            });
          }
        }),
      );
      return rows / ((performance.now() - started) / 1000);
    };
    const dbBefore = singleOnly ? 0 : await measureDb();

    const child = fork(fileURLToPath(import.meta.url), ['client'], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    const report = await new Promise<ClientReport>((resolve, reject) => {
      child.on('message', (m) => {
        if ((m as { cpu?: boolean }).cpu) {
          const u = process.cpuUsage();
          child.send({ cpuMs: (u.user + u.system) / 1000 });
        } else resolve(m as ClientReport);
      });
      child.once('error', reject);
      child.once('exit', (code) => code && reject(new Error(`client exited with ${code}`)));
      child.send(job);
    });
    child.kill();
    await floor.close();
    const e2eRate = report.points / report.batchSeconds;
    const timescale = app.deps.database.timescale;
    // Before the database's second run, which adds rows of its own.
    await sql`vacuum analyze`;
    const sizes = await tableSizes(sql, timescale);
    const dbAfter = singleOnly ? 0 : await measureDb();
    const dbRate = (dbBefore + dbAfter) / 2;
    await sql.end();

    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    const points = sizes.find((t) => t.table === 'point_data')!.rows;
    const rate = (x: SingleRun) => x.requests / x.seconds;
    /** The run of median rate among the rounds of one path, concurrency and target. */
    const median = (kind: BodyKind, clients: number, target: SingleSpec['target']) => {
      const runs = report.single.filter((x) => x.kind === kind && x.clients === clients && x.target === target).sort((a, b) => rate(a) - rate(b));
      return runs[Math.floor(runs.length / 2)]!;
    };
    const singleLines = singleClients.flatMap((clients) =>
      singlePaths.map((kind) => {
        const r = median(kind, clients, 'service');
        const fl = median(kind, clients, 'floor');
        const name = kind === 'rest' ? 'EnOS REST (multipart)' : 'GraphQL mutation';
        const cpu = (x: SingleRun & { cpuMs: number }) => `${Math.round((x.cpuMs * 1000) / x.requests)} µs CPU/request`;
        return `  ${name.padEnd(22)} ${String(clients).padStart(3)} clients: ${f(rate(r)).padStart(6)} requests/s acknowledged (${latencyText(r)}, ${cpu(r)}, ${r.failures} refused or failed); floor ${f(rate(fl))} requests/s (${latencyText(fl)}, ${cpu(fl)}); ratio ${(rate(r) / rate(fl)).toFixed(2)}`;
      }),
    );
    process.stdout.write(
      [
        `ingest bench (${full ? 'full' : 'small'} scale): ${batches} batches x ${batchPoints} points, ${clients} concurrent clients, ${deviceCount} devices x ${pointsPerDevice} DOUBLE points, timescale=${timescale}, group commit=${config.INGEST_GROUP_COMMIT}, live stream on ${natsUrl ? 'NATS JetStream' : 'the database log'}`,
        `machine: ${cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} before the run, ${loadavg().map((l) => l.toFixed(1)).join(' ')} after (shared machine: figures are indicative)`,
        ...(singleOnly ? [] : [`end to end:          ${f(e2eRate)} points/s (${f(report.points)} points in ${report.batchSeconds.toFixed(2)} s, ${report.failures} failed requests)`,
        `database own rate:   ${f(dbRate)} points/s (INSERT ... SELECT of the same rows into point_data + latest_values, ${batchPoints} per transaction, ${clients} connections; ${f(dbBefore)} before, ${f(dbAfter)} after the HTTP run)`,
        `ratio e2e / db:      ${(e2eRate / dbRate).toFixed(2)}`]),
        `single-point requests (${singleRequests} per run after a warm-up, median of ${singleRounds} round${singleRounds === 1 ? '' : 's'}, floor and service in turn; CPU: the serving process's; floor: bare node:http parsing the same body + one INSERT ... ON CONFLICT over postgres.js, ${config.DB_POOL_MAX} connections):`,
        ...singleLines,
        `bytes per point:     ${(sizes[0]!.bytes / points).toFixed(1)} (point_data with indexes, ${f(points)} points stored); each table a point touches:`,
        ...sizes.map((t) => `  ${t.table.padEnd(16)} ${(t.bytes / points).toFixed(1).padStart(6)} bytes/point (${f(t.rows)} rows, ${f(t.bytes)} bytes with indexes)`),
      ].join('\n') + '\n',
    );
  } finally {
    await app.stop(2000);
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    if (natsUrl) {
      const nc = await natsConnect({ servers: natsUrl });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
      await nc.close();
    }
  }
}

/** Tables a point touches: rows and bytes (table with its indexes). */
async function tableSizes(sql: postgres.Sql, timescale: boolean): Promise<{ table: string; rows: number; bytes: number }[]> {
  const out: { table: string; rows: number; bytes: number }[] = [];
  for (const table of ['point_data', 'latest_values', 'live_messages']) {
    const size = timescale && table === 'point_data' ? sql`hypertable_size(${table}::regclass)` : sql`pg_total_relation_size(${table}::regclass)`;
    const [r] = await sql<{ bytes: string; n: string }[]>`select ${size}::text as bytes, (select count(*) from ${sql(table)})::text as n`;
    out.push({ table, rows: Number(r!.n), bytes: Number(r!.bytes) });
  }
  return out;
}

if (process.argv[2] === 'client') {
  process.once('message', (job) => {
    // Later messages answer serverCpuMs().
    void runClient(job as ClientJob).then((r) => {
      process.send!(r, () => process.exit(0));
    });
  });
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
