/*
 * Fault suite: `npm run test:faults` (full) or `npm run test:faults -- --short` (CI).
 *
 * Starts its own PostgreSQL 15 + TimescaleDB instance (a temp dir, a free port) so that it may
 * restart it and kill its backends, runs the service as a separate process against it, and prints
 * one figure per line. Exits 1 when a figure misses its target.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpus, runCorpus } from './corpus';
import { duplicatesAfterRetries, killDuringIngest, readyAfterRestart, readyAfterTerminations, wideQuerySeconds, type IngestTarget } from './durability';
import { heavyQueries, seedHeavyRange } from './heavy';
import { closedLoopCapacity, connectionFlood, openLoopOverload, slowHeaderSockets } from './load';
import { startPgCluster, type PgCluster } from './pg-cluster';
import { startService, type Service } from './service';
import { createDevices, createTenant, FAULTS_MASTER_KEY, getToken, ORG, PRODUCT } from './setup';

const short = process.argv.includes('--short');
const scale = short
  ? { killRuns: 3, killAfterMs: 1_500, capacityS: 3, overloadS: 8, slowSockets: 100, flood: 1_000, terminations: 3, heavyStepS: 10, heavyDeadlineS: 60 }
  : { killRuns: 3, killAfterMs: 4_000, capacityS: 8, overloadS: 20, slowSockets: 300, flood: 3_000, terminations: 6, heavyStepS: 1, heavyDeadlineS: 180 };
/** Start of the heavy queries' range, away from the other scenarios' data. */
const HEAVY_FROM = Date.UTC(2025, 0, 1);
const DB = 'tributary';

let failed = 0;
/** Prints one figure and whether it meets its target. */
function figure(label: string, value: string, pass: boolean | null): void {
  if (pass === false) failed++;
  process.stdout.write(`${label}: ${value}${pass === null ? '' : pass ? '' : '  [FAIL]'}\n`);
}
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'never');

const logDir = mkdtempSync(join(tmpdir(), 'tributary-faults-'));
let cluster: PgCluster | null = null;
const services: Service[] = [];
try {
  cluster = await startPgCluster();
  await cluster.sql('postgres', (s) => s.unsafe(`create database ${DB}`));
  const env = { DATABASE_URL: cluster.url(DB), SECRET_ENCRYPTION_KEY: FAULTS_MASTER_KEY, DATA_DIR: join(logDir, 'data'), TIMESCALEDB: 'require' };
  const start = async () => {
    const s = await startService(env, logDir);
    services.push(s);
    return s;
  };
  let service = await start();
  const { accessKey, secretKey } = await createTenant(cluster.url(DB));
  const token = await getToken(service.url, accessKey, secretKey);
  const assetIds = await createDevices(service.url, token, 10);
  const target = (s: Service): IngestTarget => ({ url: s.url, token, assetIds });
  process.stdout.write(`fault suite (${short ? 'short' : 'full'}): PostgreSQL 15 + TimescaleDB on port ${cluster.port}, service logs in ${logDir}\n`);

  // 1. kill -9 during sustained ingest.
  for (let run = 1; run <= scale.killRuns; run++) {
    const r = await killDuringIngest(target(service), service, cluster, DB, Date.UTC(2026, 0, run), 8, scale.killAfterMs);
    figure(`kill -9 run ${run}: acknowledged points lost`, `${r.lost} (of ${r.acknowledged} acknowledged)`, r.lost === 0 && r.acknowledged > 0);
    service = await start();
  }

  // 2. duplicates under client retries.
  const dup = await duplicatesAfterRetries(target(service), cluster, DB, Date.UTC(2026, 1, 1), 5);
  figure('duplicate rows after 10 deliveries of one batch', `${dup.extraRows} (${dup.acknowledged} of 10 acknowledged)`, dup.extraRows === 0);

  // 3. database restarts and terminated backends.
  const restartS = await readyAfterRestart(target(service), cluster);
  figure('ready after a database restart', `${f1(restartS)} s`, restartS <= 5);
  const term = await readyAfterTerminations(target(service), cluster, scale.terminations, 300, Date.UTC(2026, 2, 1));
  figure(`ready after backends terminated ${scale.terminations} times`, `${f1(term.seconds)} s (5xx other than 503 meanwhile: ${term.other5xx} of ${term.responses})`, term.seconds <= 5 && term.other5xx === 0);
  figure('service process alive after the database restart and terminations', service.exited() === null ? 'yes' : `no (exited: ${service.exited()})`, service.exited() === null);
  if (service.exited() !== null) service = await start();
  await readyAfterRestart(target(service), cluster);
  const wide = await wideQuerySeconds(target(service));
  figure('50-alias latest query after restarts', `${wide.seconds.toFixed(2)} s${wide.ok ? '' : ' (failed)'}`, wide.ok && wide.seconds < 5);

  // 4. the heaviest legal queries at once, on a fresh process (its peak RSS is this scenario's).
  const seeded = await seedHeavyRange(cluster, DB, assetIds[0]!, HEAVY_FROM, scale.heavyStepS);
  await service.kill('SIGTERM');
  service = await start();
  const h = await heavyQueries(target(service), service, HEAVY_FROM, 6, scale.heavyDeadlineS);
  figure(
    `six heaviest legal queries at once (pointAggregates fill PREVIOUS, 1-second buckets over 11.5 days, ${seeded} stored values)`,
    `${h.completed} of 6 answered in full (${(h.responseBytes / 1e6).toFixed(1)} MB each) within ${f1(h.seconds)} s, ${h.refused429} x 429 on the way (heavy-query lane; ${h.missingRetryAfter} without Retry-After), ${h.failed} failed${h.firstFailure ? ` (first: ${h.firstFailure.slice(0, 160)})` : ''}`,
    h.completed === 6 && h.failed === 0 && h.missingRetryAfter === 0,
  );
  figure('six heaviest queries: /healthz latency meanwhile', `p99 ${h.healthzP99Ms.toFixed(0)} ms, max ${h.healthzMaxMs.toFixed(0)} ms`, h.healthzP99Ms <= 1000 && h.healthzMaxMs <= 2000);
  figure('six heaviest queries: light query latency meanwhile', `p99 ${h.lightP99Ms.toFixed(0)} ms`, h.lightP99Ms <= 2000);
  figure('six heaviest queries: peak RSS', `${h.peakRssMb.toFixed(0)} MB`, h.peakRssMb < 640);

  // 5. 3x overload on a fresh process (its peak RSS is this scenario's).
  await service.kill('SIGTERM');
  service = await start();
  const capacity = await closedLoopCapacity(target(service), 16, scale.capacityS, Date.UTC(2026, 3, 1));
  const rate = Math.max(30, Math.round(capacity * 3));
  const o = await openLoopOverload(target(service), service, rate, scale.overloadS, Date.UTC(2026, 4, 1));
  const excess = o.offered - o.ok;
  const refusedShare = excess > 0 ? (o.rejected429 + o.rejected503) / excess : 1;
  figure('closed-loop capacity', `${capacity.toFixed(0)} requests/s of 100 points`, null);
  figure(`3x overload (${rate} requests/s for ${scale.overloadS} s)`, `${o.offered} offered, ${o.ok} stored, ${o.rejected429} x 429, ${o.rejected503} x 503, ${o.other} other, ${o.noAnswer} unanswered`, o.noAnswer === 0 && o.other === 0);
  figure('3x overload: share of the excess answered 429/503', `${(refusedShare * 100).toFixed(1)} %`, refusedShare >= 0.99);
  figure('3x overload: 429/503 without Retry-After', String(o.missingRetryAfter), o.missingRetryAfter === 0);
  figure('3x overload: latency of stored requests', `p50 ${o.p50OkMs.toFixed(0)} ms, p99 ${o.p99OkMs.toFixed(0)} ms`, null);
  figure('3x overload: peak RSS', `${o.peakRssMb.toFixed(0)} MB`, o.peakRssMb < 400);
  figure('3x overload: back to unloaded latency after the load stopped', `${f1(o.recoverySeconds)} s`, o.recoverySeconds <= 5);

  // 6. slow clients.
  const slow = await slowHeaderSockets(service.url, scale.slowSockets, 60);
  figure(`slow-header sockets (${scale.slowSockets}) all closed within`, `${f1(slow.lastClosedS)} s (${slow.closed} closed; /healthz meanwhile ${f1(slow.healthzMs)} ms)`, slow.lastClosedS <= 30 && Number.isFinite(slow.healthzMs));
  const flood = await connectionFlood(service.url, scale.flood);
  figure(`connection flood (${scale.flood} idle sockets from one address)`, `${flood.refused} closed at once; /healthz from another address ${f1(flood.healthzMs)} ms`, Number.isFinite(flood.healthzMs));

  // 7. malformed inputs.
  const corpus = loadCorpus(new URL('../../test/fixtures/fault-corpus.json', import.meta.url).pathname);
  const c = await runCorpus(service.url, service, corpus, { TOKEN: token, ORG, ASSET: assetIds[0]!, PK: PRODUCT });
  figure(`corpus of ${c.cases} malformed inputs: crashes`, c.crashed ? `1 (at "${c.crashed}")` : '0', c.crashed === null);
  figure(`corpus of ${c.cases} malformed inputs: 5xx`, `${c.status5xx.length}${c.status5xx.length ? ` (${c.status5xx.slice(0, 5).join('; ')})` : ''}`, c.status5xx.length === 0);
  figure(`corpus of ${c.cases} malformed inputs: unanswered within 15 s`, `${c.noAnswer.length}${c.noAnswer.length ? ` (${c.noAnswer.slice(0, 5).join('; ')})` : ''}`, c.noAnswer.length === 0);
} catch (e) {
  failed++;
  process.stdout.write(`fault suite aborted: ${(e as Error).stack ?? String(e)}\n`);
} finally {
  for (const s of services) await s.kill('SIGKILL').catch(() => {});
  cluster?.destroy();
  if (!failed) rmSync(logDir, { recursive: true, force: true });
}
process.stdout.write(failed ? `${failed} figure(s) missed their target\n` : 'all figures met their targets\n');
process.exit(failed ? 1 : 0);
