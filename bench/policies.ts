/**
 * Policies benchmark: `npm run bench:policies`.
 *
 * Runs the same ingest load twice against PostgreSQL (+ TimescaleDB when available), each time in
 * a fresh database and a fresh instance of the service in this process, with a forked client
 * process posting batches over HTTP:
 * 1. without policies (service default: raw history only);
 * 2. with policies: a processing policy (scale, then range CLAMP) on one point and a deadband on
 *    another, a storage policy (raw kept 90 days and 1-hour rollups kept 5 years, as in
 *    docs/policies.md; normalized 1-minute values as well for one point) and one computed point per device (`p0 * p1 / 1000`).
 * Prints both throughputs and the ratio of the second to the first (target >= 0.7). BENCH_ROUNDS=n
 * alternates the two runs n times and prints the median ratio (for shared, noisy machines).
 *
 * Scale via env: BENCH_SCALE=small (default) | full, or BENCH_BATCHES, BENCH_BATCH_POINTS,
 * BENCH_CLIENTS, BENCH_DEVICES, BENCH_POINTS_PER_DEVICE; BENCH_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres) names the admin database.
 */
import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { batchBodies, gql, postAll } from './post-points';
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
}

interface ClientReport {
  readonly points: number;
  readonly seconds: number;
  readonly failures: number;
}

const env = process.env;
const full = env['BENCH_SCALE'] === 'full';
const num = (k: string, d: number) => (env[k] ? Number(env[k]) : d);

/** The client process: concurrent loops posting prepared bodies (one second per device and item). */
async function runClient(job: ClientJob): Promise<ClientReport> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.clients });
  const r = await postAll(agent, job, batchBodies({ ...job, startTime: 1_700_000_000_000, stepMs: 1000 }), job.clients);
  agent.destroy();
  return r;
}

/** CPU seconds used so far by each backend of a database (Linux /proc; empty when the server is not local). */
async function backendCpu(admin: postgres.Sql, dbName: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`;
  for (const { pid } of rows) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime: fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
      out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // not visible from here
    }
  }
  return out;
}

/** One run in a fresh database; returns the client's report. */
async function runOnce(adminUrl: string, withPolicies: boolean): Promise<ClientReport & { timescale: boolean; serviceCpuS: number; dbCpuS: number | null }> {
  const batches = num('BENCH_BATCHES', full ? 400 : 30);
  const batchPoints = num('BENCH_BATCH_POINTS', 1000);
  const clients = num('BENCH_CLIENTS', 4);
  const deviceCount = num('BENCH_DEVICES', full ? 200 : 50);
  const pointsPerDevice = num('BENCH_POINTS_PER_DEVICE', 10);
  const dbName = `tributary_bench_pol_${process.pid}_${withPolicies ? 'on' : 'off'}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: u.toString(), LOG_LEVEL: env['LOG_LEVEL'] ?? 'warn', SECRET_ENCRYPTION_KEY: '11'.repeat(32), SCHEDULER_ENABLED: 'false', TIMESCALEDB: env['BENCH_TIMESCALEDB'] ?? 'auto', DB_POOL_MAX: env['DB_POOL_MAX'] ?? '10', ...(env['INGEST_MAX_PARALLEL_TX'] ? { INGEST_MAX_PARALLEL_TX: env['INGEST_MAX_PARALLEL_TX'] } : {}) });
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
    const measurePoints = [...pointIds, 'kw'].map((p) => ({ identifier: p, type: { dataType: 'DOUBLE' } }));
    await gql(url, token, 'mutation($i: ThingModelInput!) { createThingModel(input: $i) { identifier } }', { i: { identifier: 'Bench', name: 'Bench', measurePoints } });
    await gql(url, token, 'mutation($i: CreateProductInput!) { createProduct(input: $i) { productKey } }', { i: { productKey: 'pkBench', name: 'Bench', modelIdentifier: 'Bench' } });
    const assetIds: string[] = [];
    for (let k = 0; k < deviceCount; k++) assetIds.push((await gql(url, token, 'mutation($i: CreateDeviceInput!) { createDevice(input: $i) { assetId } }', { i: { productKey: 'pkBench', deviceKey: `bench${k}`, name: `bench${k}` } }))['createDevice'].assetId);
    if (withPolicies) {
      const m = 'Bench';
      await gql(url, token, 'mutation($m: ID!, $p: String!, $i: ProcessingPolicyInput!) { setProcessingPolicy(model: $m, point: $p, input: $i) { point } }', { m, p: 'p0', i: { steps: [{ scale: { multiplier: 0.1, offset: -5 } }, { range: { min: 0, max: 900, action: 'CLAMP' } }] } });
      await gql(url, token, 'mutation($m: ID!, $p: String!, $i: ProcessingPolicyInput!) { setProcessingPolicy(model: $m, point: $p, input: $i) { point } }', { m, p: 'p2', i: { steps: [{ deadband: { delta: 1, intervalS: 600 } }] } });
      await gql(url, token, 'mutation($m: ID!, $i: StoragePolicyInput!) { setStoragePolicy(model: $m, input: $i) { name } }', { m, i: { name: 'all', forms: [{ form: 'RAW', retentionDays: 90 }, { form: 'ROLLUP_1H', retentionDays: 1826 }] } });
      await gql(url, token, 'mutation($m: ID!, $i: StoragePolicyInput!) { setStoragePolicy(model: $m, input: $i) { name } }', { m, i: { name: 'p1', points: ['p1'], forms: [{ form: 'RAW', retentionDays: 90 }, { form: 'NORMALIZED_1M', retentionDays: 365 }] } });
      await gql(url, token, 'mutation($m: ID!, $i: ComputedPointInput!) { setComputedPoint(model: $m, input: $i) { point } }', { m, i: { point: 'kw', expression: 'p0 * p1 / 1000' } });
    }
    const job: ClientJob = { url, token, assetIds, pointIds, batches, batchPoints, clients };
    const dbBefore = await backendCpu(admin, dbName);
    const serviceBefore = process.cpuUsage();
    const child = fork(fileURLToPath(import.meta.url), ['client'], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    const report = await new Promise<ClientReport>((resolve, reject) => {
      child.once('message', (msg) => resolve(msg as ClientReport));
      child.once('error', reject);
      child.once('exit', (code) => code && reject(new Error(`client exited with ${code}`)));
      child.send(job);
    });
    const service = process.cpuUsage(serviceBefore);
    const dbAfter = await backendCpu(admin, dbName);
    let dbCpuS: number | null = dbAfter.size ? 0 : null;
    for (const [pid, s] of dbAfter) dbCpuS! += s - (dbBefore.get(pid) ?? 0);
    child.kill();
    return { ...report, timescale: app.deps.database.timescale, serviceCpuS: (service.user + service.system) / 1e6, dbCpuS };
  } finally {
    await app.stop(2000);
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

async function main() {
  const adminUrl = env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  // NOTE: on a shared machine the load of other processes varies between runs: BENCH_ROUNDS > 1
  // alternates the two runs that many times and reports the median of the rounds' ratios.
  const rounds = Math.max(1, num('BENCH_ROUNDS', 1));
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  const lines: string[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  let timescale = false;
  for (let k = 0; k < rounds; k++) {
    const off = await runOnce(adminUrl, false);
    const on = await runOnce(adminUrl, true);
    timescale = on.timescale;
    const rateOff = off.points / off.seconds;
    const rateOn = on.points / on.seconds;
    ratios.push(rateOn / rateOff);
    // CPU per point (this process, which runs the service, plus the database backends of the run): less sensitive to other load than wall time.
    const cpu = (r: typeof off) => (r.dbCpuS === null ? null : (r.serviceCpuS + r.dbCpuS) / r.points);
    const [cpuOff, cpuOn] = [cpu(off), cpu(on)];
    if (cpuOff !== null && cpuOn !== null) cpuRatios.push(cpuOff / cpuOn);
    const cpuText = (r: typeof off) => (r.dbCpuS === null ? 'CPU n/a' : `CPU ${((1e6 * (r.serviceCpuS + r.dbCpuS)) / r.points).toFixed(0)} ms per 1000 points: service ${((1e6 * r.serviceCpuS) / r.points).toFixed(0)} + database ${((1e6 * r.dbCpuS) / r.points).toFixed(0)}`);
    const round = rounds > 1 ? `round ${k + 1}/${rounds}: ` : '';
    lines.push(
      `${round}without policies: ${f(rateOff)} points/s (${f(off.points)} points in ${off.seconds.toFixed(2)} s, ${off.failures} failed requests; ${cpuText(off)})`,
      `${round}with policies:    ${f(rateOn)} points/s (${f(on.points)} points accepted in ${on.seconds.toFixed(2)} s, ${on.failures} failed requests; ${cpuText(on)}; scale+clamp, deadband, raw+1h rollups, normalized for one point, 1 computed point per device)`,
      ...(rounds > 1 ? [`${round}ratio with / without: ${(rateOn / rateOff).toFixed(2)}${cpuOff !== null && cpuOn !== null ? ` (CPU per point without / with: ${(cpuOff / cpuOn).toFixed(2)})` : ''}`] : []),
    );
    if (rounds > 1) process.stderr.write(`${lines.slice(-3).join('\n')}\n`);
  }
  const median = (xs: readonly number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  };
  process.stdout.write(
    [
      `policies bench (${full ? 'full' : 'small'} scale, ${rounds} round${rounds > 1 ? 's' : ''}), timescale=${timescale}; machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (shared machine: figures are indicative)`,
      ...lines,
      `${rounds > 1 ? 'median ' : ''}ratio with / without: ${median(ratios).toFixed(2)} (target >= 0.7)${cpuRatios.length ? `; ${rounds > 1 ? 'median ' : ''}CPU per point without / with: ${median(cpuRatios).toFixed(2)} (the same ratio if the machine were CPU-bound by this run alone)` : ''}`,
    ].join('\n') + '\n',
  );
}

if (process.argv[2] === 'client') {
  process.once('message', (job) => {
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
