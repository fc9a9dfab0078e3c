/**
 * Query benchmark: loads devices x points x timestamps into a fresh PostgreSQL +
 * TimescaleDB database, starts the service, and times each read through GraphQL against the very
 * same SQL run directly on the database in the same run (same driver, same connection pool).
 *
 *   npm run bench:query                      # full: 1,000 devices x 10 points x 1,440 minutes = 14.4 M points
 *   BENCH_SCALE=small npm run bench:query    # 50 devices (720 k points)
 *   BENCH_SCALE=200 npm run bench:query      # 200 devices
 *
 * Env: BENCH_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres), BENCH_RUNS
 * (timed runs per figure, default 7; the median is reported), BENCH_RAW_RUNS (the same for raw history,
 * default 201), BENCH_KEEP_DB=1 keeps the database
 * (its name is printed); BENCH_DB=<name> reuses a database a previous run kept (no load); BENCH_ONLY
 * (comma-separated: latest, raw, aggregate) runs only those figures.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { createOrganisation, createServiceAccount } from '../src/auth/service-accounts';
import { signTokenRequest } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { aggregateSql } from '../src/query/aggregate-sql';
import { parseBucketSpec } from '../src/query/buckets';
import { decodeKeyCursor, encodeKeyCursor } from '../src/query/cursor';
import { historySql, type HistoryKey, type HistoryRow } from '../src/query/history';
import { valueOf } from '../src/query/sql-util';
import { liveOf } from '../src/live/service';
import { latestSql } from '../src/query/latest';
import { createModel, getModel, type ThingModel } from '../src/registry/models';
import { createProduct } from '../src/registry/products';
import { createApp } from '../src/server/app';
import { queryRows } from '../src/storage/db';

const env = process.env;
const scaleArg = env['BENCH_SCALE'] ?? 'full';
const DEVICES = scaleArg === 'full' ? 1000 : scaleArg === 'small' ? 50 : Number(scaleArg);
if (!Number.isInteger(DEVICES) || DEVICES < 1) throw new Error('BENCH_SCALE must be full, small or a number of devices');
const POINTS = 10;
const STEPS = 1440; // one value a minute for one day
const STEP_MS = 60_000;
const RUNS = Number(env['BENCH_RUNS'] ?? 7);
// A dashboard polls the same query: the figures are for a warm instance (JIT, the model cache, remembered tokens and devices).
const WARMUPS = 5;
// A run of raw history takes milliseconds: many more runs than the others, for a steady median.
const RAW_RUNS = Number(env['BENCH_RAW_RUNS'] ?? 201);
const RAW_WARMUPS = 30;
const AGG_DEVICES = Math.min(100, DEVICES);
const PAGE = 1000;
const START = Date.UTC(2026, 0, 1);
const ADMIN_URL = env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REUSE_DB = env['BENCH_DB'];
const DB_NAME = REUSE_DB ?? `tributary_bench_${process.pid}`;
const MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Medians of several ways of doing the same work (the service, the database, ...), their runs
 * interleaved so that all see the same machine load (the machine may be shared).
 */
async function interleaved(fns: readonly (() => Promise<unknown>)[], runs = RUNS, warmups = WARMUPS): Promise<number[]> {
  for (let i = 0; i < warmups; i++) for (const fn of fns) await fn();
  const times = fns.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      times[k]!.push(performance.now() - t0);
    }
  }
  return times.map((xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
}

/** {@link interleaved} for the service and the database. */
async function paired(service: () => Promise<unknown>, database: () => Promise<unknown>): Promise<{ serviceMs: number; dbMs: number }> {
  const [serviceMs, dbMs] = await interleaved([service, database]);
  return { serviceMs: serviceMs!, dbMs: dbMs! };
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  const [ms] = await interleaved([fn]);
  return ms!;
}

async function main(): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  if (!REUSE_DB) await admin.unsafe(`create database ${DB_NAME}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DB_NAME}`;
  let stop: (() => Promise<void>) | null = null;
  try {
    const config = loadConfig({ DATABASE_URL: url.toString(), PORT: '0', HOST: '127.0.0.1', TIMESCALEDB: 'require', LOG_LEVEL: 'warn', SECRET_ENCRYPTION_KEY: MASTER_KEY, SCHEDULER_ENABLED: 'false', DATA_DIR: '/tmp' });
    const app = await createApp(config, { log: createLogger('warn'), bootstrap: false });
    stop = () => app.stop(1000);
    const base = await app.listen();
    const { db } = app.deps;

    // --- load ---
    const t0 = performance.now();
    if (REUSE_DB) return await measure(app, base, await getModel(db, 'bench', 'meter'));
    await createOrganisation(db, { id: 'bench', name: 'Bench' });
    const model = await createModel(db, 'bench', { identifier: 'meter', name: 'Meter', measurePoints: Array.from({ length: POINTS }, (_, i) => ({ identifier: `p${i}`, name: `p${i}`, type: { dataType: 'DOUBLE' }, hasQuality: true })) });
    const product = await createProduct(db, 'bench', { productKey: 'bench-meter', name: 'Meter', modelIdentifier: 'meter' });
    const productId = (await queryRows<{ id: number }>(db, sql`select id from products where product_key = ${product.productKey}`))[0]!.id;
    await queryRows(
      db,
      sql`insert into devices (org_id, product_id, device_key, asset_id, name)
          select 'bench', ${productId}::int, 'dev' || i, 'a' || lpad(i::text, 6, '0'), 'Device ' || i from generate_series(0, ${DEVICES - 1}::int) as i`,
    );
    const pointIds = model.features.map((f) => f.id);
    const deviceRows = await queryRows<{ id: number; asset_id: string }>(db, sql`select id, asset_id from devices where org_id = 'bench' order by id`);
    // Server-side generation, 50 devices per statement.
    for (let i = 0; i < deviceRows.length; i += 50) {
      const ids = deviceRows.slice(i, i + 50).map((d) => d.id);
      await queryRows(
        db,
        sql`insert into point_data (time, device_id, point_id, num, quality)
            select ${new Date(START).toISOString()}::timestamptz + s * interval '60 seconds', d, p, round((random() * 1000)::numeric, 3)::float8, 0
            from unnest(${sql.param(ids)}::int[]) as d, unnest(${sql.param(pointIds)}::int[]) as p, generate_series(0, ${STEPS - 1}::int) as s`,
      );
    }
    await queryRows(
      db,
      sql`insert into latest_values (device_id, point_id, time, num, quality)
          select device_id, point_id, time, num, quality from point_data where time = ${new Date(START + (STEPS - 1) * STEP_MS).toISOString()}::timestamptz`,
    );
    await queryRows(db, sql`analyze`);
    const total = DEVICES * POINTS * STEPS;
    out(`loaded ${total.toLocaleString('en')} points (${DEVICES} devices x ${POINTS} points x ${STEPS} minutes) in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${DB_NAME}; timescale=${app.deps.database.timescale}`);
    await measure(app, base, model);
  } finally {
    if (stop) await stop();
    if (env['BENCH_KEEP_DB'] !== '1' && !REUSE_DB) await admin.unsafe(`drop database if exists ${DB_NAME} with (force)`);
    await admin.end({ timeout: 5 });
  }
}

async function measure(app: Awaited<ReturnType<typeof createApp>>, base: string, model: ThingModel): Promise<void> {
  {
    const { db } = app.deps;
    const { serviceAccount, secretKey } = await createServiceAccount(db, app.deps.box, { orgId: 'bench', name: `bench-${process.pid}`, grants: [{ permission: 'ASSET_READ' }] });
    const deviceRows = await queryRows<{ id: number; asset_id: string }>(db, sql`select id, asset_id from devices where org_id = 'bench' order by id`);
    if (deviceRows.length !== DEVICES) throw new Error(`the database holds ${deviceRows.length} devices; BENCH_SCALE says ${DEVICES}`);
    const pointIds = model.features.map((f) => f.id);

    const ts = String(Date.now());
    const tokRes = await fetch(`${base}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: serviceAccount.accessKey, encryption: signTokenRequest(serviceAccount.accessKey, ts, secretKey), timestamp: ts }) });
    const token = ((await tokRes.json()) as { data: { accessToken: string } }).data.accessToken;
    // A plain keep-alive node:http client (fetch's web streams cost the client more than the JSON it parses).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const endpoint = new URL(`${base}/graphql`);
    const post = (url: URL, query: string, variables: Record<string, unknown>): Promise<any> =>
      new Promise((resolve, reject) => {
        const payload = JSON.stringify({ query, variables });
        const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${token}` } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: any; errors?: unknown[] };
              if (body.errors) reject(new Error(JSON.stringify(body.errors)));
              else resolve(body.data);
            } catch (e) {
              reject(e);
            }
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(payload);
      });
    const gql = (query: string, variables: Record<string, unknown>): Promise<any> => post(endpoint, query, variables);
    const points = model.features.map((f) => f.identifier);
    const assetIds = deviceRows.map((d) => d.asset_id);
    const deviceIds = deviceRows.map((d) => d.id);
    const results: { name: string; serviceMs: number; dbMs: number; rows: number }[] = [];

    // 0. Fixed cost of one authenticated GraphQL request (informational).
    const fixedMs = await median(() => gql(`{ me { organisation { id } } }`, {}));
    out(`fixed cost of one authenticated GraphQL request ({ me }): ${fixedMs.toFixed(1)} ms`);

    const only = env['BENCH_ONLY']?.split(','); // e.g. BENCH_ONLY=latest,raw
    // 1. Latest values of 10 points for every device.
    if (!only || only.includes('latest')) {
      let n = 0;
      const { serviceMs, dbMs } = await paired(async () => {
        // The columnar shape with each column one JSON leaf: the fast shape for bulk reads (latestValues returns one object per value).
        const d = await gql(`query($a: [ID!]!, $p: [String!]) { latestValuesByDevice(devices: { assetIds: $a }, points: $p) { assetId pointsJson timesJson valuesJson qualitiesJson } }`, { a: assetIds, p: points });
        n = d.latestValuesByDevice.reduce((s: number, x: { timesJson: unknown[] }) => s + x.timesJson.length, 0);
      }, () => queryRows(db, latestSql(deviceIds, pointIds, null)));
      results.push({ name: `latest: ${POINTS} points x ${DEVICES} devices`, serviceMs, dbMs, rows: n });
      const c = liveOf(app.deps).latest.stats();
      out(`latest-values cache: ${c.hits} reads answered from memory, ${c.misses} from the database; ${c.devices} devices kept`);
    }

    // 2. One day of raw history of one point of one device, pages of 1,000.
    if (!only || only.includes('raw')) {
      const from = START;
      const to = START + 86_400_000;
      const pageSql = (after: HistoryKey | null) => historySql({ deviceIds: [deviceIds[0]!], pointIds: [pointIds[0]!], fromMs: from, toMs: to, order: 'ASC', qualities: null, after, limit: PAGE + 1 });
      // The floor any HTTP service pays: a bare node:http handler (no GraphQL, no token, no
      // checks) that runs the same SQL and answers the same JSON as the service, read by the same client.
      const floor = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          void (async () => {
            const { variables } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { variables: { after: string | null } };
            const rows = await queryRows<HistoryRow>(db, pageSql(variables.after ? (decodeKeyCursor('pv', 3, variables.after) as unknown as HistoryKey) : null));
            const page = rows.slice(0, PAGE);
            const last = page.at(-1);
            const body = JSON.stringify({
              data: {
                pointHistory: {
                  columns: { timesJson: page.map((r) => r.t), valuesJson: page.map(valueOf), qualitiesJson: page.map((r) => r.quality) },
                  pageInfo: { hasNextPage: rows.length > PAGE, endCursor: last ? encodeKeyCursor('pv', [last.t, last.device_id, last.point_id]) : null },
                },
              },
            });
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
          })().catch((e: unknown) => res.writeHead(500).end(String(e)));
        });
      });
      await new Promise<void>((resolve) => floor.listen(0, '127.0.0.1', resolve));
      const floorUrl = new URL(`http://127.0.0.1:${(floor.address() as AddressInfo).port}/`);
      let n = 0;
      // The page's rows in columns, for bulk reads (edges give one object per row).
      const readPages = (url: URL) => async () => {
        n = 0;
        let after: string | null = null;
        for (;;) {
          const d = await post(
            url,
            `query($a: ID!, $from: Timestamp!, $to: Timestamp!, $after: String) { pointHistory(devices: { assetIds: [$a] }, points: ["p0"], from: $from, to: $to, first: ${PAGE}, after: $after) { columns { timesJson valuesJson qualitiesJson } pageInfo { hasNextPage endCursor } } }`,
            { a: assetIds[0], from, to, after },
          );
          n += d.pointHistory.columns.timesJson.length;
          if (!d.pointHistory.pageInfo.hasNextPage) break;
          after = d.pointHistory.pageInfo.endCursor;
        }
      };
      try {
        const [serviceMs, dbMs, floorMs] = await interleaved([
          readPages(endpoint),
          async () => {
            let after: HistoryKey | null = null;
            for (;;) {
              const rows: HistoryRow[] = await queryRows<HistoryRow>(db, pageSql(after));
              if (rows.length <= PAGE) break;
              const last: HistoryRow = rows[PAGE - 1]!;
              after = [last.t, last.device_id, last.point_id];
            }
          },
          readPages(floorUrl),
        ], RAW_RUNS, RAW_WARMUPS);
        results.push({ name: `raw: 1 day of 1 point, pages of ${PAGE}`, serviceMs: serviceMs!, dbMs: dbMs!, rows: n });
        results.push({ name: `raw floor (not the service): a bare node:http handler, same SQL and JSON, no GraphQL, no token`, serviceMs: floorMs!, dbMs: dbMs!, rows: n });
      } finally {
        await new Promise((resolve) => floor.close(resolve));
      }
    }

    // 3. One day of 1-minute AVG/MIN/MAX of one point for 100 devices.
    if (!only || only.includes('aggregate')) {
      const from = START;
      const to = START + 86_400_000;
      const fns = ['AVG', 'MIN', 'MAX'] as const;
      let n = 0;
      const spec = parseBucketSpec('1 minute', null);
      const { serviceMs, dbMs } = await paired(async () => {
        const d = await gql(
          `query($a: [ID!]!, $from: Timestamp!, $to: Timestamp!) { pointAggregates(devices: { assetIds: $a }, aggregates: [{ point: "p0", function: AVG }, { point: "p0", function: MIN }, { point: "p0", function: MAX }], from: $from, to: $to, interval: "1 minute") { assetId times columns { point function values } } }`,
          { a: assetIds.slice(0, AGG_DEVICES), from, to },
        );
        n = d.pointAggregates.reduce((s: number, x: { times: unknown[] }) => s + x.times.length, 0);
      }, () => queryRows(db, aggregateSql('timescale', { deviceIds: deviceIds.slice(0, AGG_DEVICES), columns: fns.map((fn) => ({ pointId: pointIds[0]!, fn })), fromMs: from, toMs: to, bucket: spec })));
      results.push({ name: `aggregate: 1 day, 1-minute AVG/MIN/MAX, ${AGG_DEVICES} devices`, serviceMs, dbMs, rows: n });
    }

    out('');
    out(`| query | rows | database (ms) | service (ms) | service / database |`);
    out(`|---|---:|---:|---:|---:|`);
    for (const r of results) out(`| ${r.name} | ${r.rows.toLocaleString('en')} | ${r.dbMs.toFixed(1)} | ${r.serviceMs.toFixed(1)} | ${(r.serviceMs / r.dbMs).toFixed(2)}x |`);
    out('');
    out(`median of ${RUNS} runs after ${WARMUPS} warm-ups (raw: ${RAW_RUNS} after ${RAW_WARMUPS}), service and database runs interleaved; database = the service's own SQL run on the same pool; target <= 1.5x (the floor row is a reference, not a target)`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
