import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeJournal, mergeJournalBatches } from '../../src/policies/rollup-journal';
import { DERIVED_TABLE_FILLFACTOR } from '../../src/policies/table-settings';
import { queryRows } from '../../src/storage/db';
import { startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { post, setupMeters } from './fixtures';

/*
 * Rollups against the raw data they summarise: after real-time, late, offline and retried
 * values, every rollup row equals the aggregate of point_data over its bucket, and the
 * aggregate query answers identically from rollups and from raw data.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MIN = 60_000;
/** 2026-01-10T00:00:00Z: a day boundary. */
const D0 = Date.UTC(2026, 0, 10);

let t: TestApp;
let org: Tenant;
let assets: string[];
/** What should be stored: key `asset|point|time` -> value (the last sent wins). */
const truth = new Map<string, number>();

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

async function send(items: { assetId: string; time: number; values: Record<string, number> }[], channel: 'REALTIME' | 'OFFLINE' = 'REALTIME') {
  for (let i = 0; i < items.length; i += 200) await post(t, org, items.slice(i, i + 200), channel);
  for (const it of items) for (const [p, v] of Object.entries(it.values)) truth.set(`${it.assetId}|${p}|${it.time}`, v);
}

function series(r: () => number, n: number, from: number, spanMs: number) {
  return Array.from({ length: n }, () => {
    const assetId = assets[Math.floor(r() * assets.length)]!;
    // Quarter steps: sums are exact in floating point, whatever the order of addition.
    return { assetId, time: from + Math.floor(r() * spanMs / 1000) * 1000, values: { power: Math.round(r() * 4000 - 2000) / 4, temp: Math.round(r() * 400) / 4 } };
  });
}

beforeAll(async () => {
  // NOTE: no periodic journal merge during the tests: they merge when they need to.
  t = await startTestApp({ POLICY_DEFAULT_STORAGE: 'RAW:7305,ROLLUP_1M:7305,ROLLUP_1H:7305,ROLLUP_1D:7305', ROLLUP_APPLY_INTERVAL_MS: '3600000' });
  org = await t.tenant('o-roll');
  assets = await setupMeters(t, org, 'pkRoll', 3);
  const r = rng(42);
  // Real time over two days, in time order.
  await send(series(r, 600, D0, 2 * DAY).sort((a, b) => a.time - b.time));
  // Late real-time data inside buckets that already have values.
  await send(series(r, 150, D0, 2 * DAY));
  // Offline backfill of the day before.
  await send(series(r, 150, D0 - DAY, DAY), 'OFFLINE');
  // Retries: some of the keys already stored, re-sent with new values (replace, never double count).
  const stored = [...truth.keys()].slice(0, 120).map((k) => {
    const [assetId, , time] = k.split('|');
    return { assetId: assetId!, time: Number(time), values: { power: Math.round(r() * 400) / 4, temp: Math.round(r() * 400) / 4 } };
  });
  await send(stored);
  await send(stored.slice(0, 30), 'OFFLINE');
});
afterAll(() => t.close());

describe('rollups are maintained incrementally as data arrives', () => {
  it('stores exactly the values sent, the last one of each retried key', async () => {
    const [n] = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data pd join model_features f on f.id = pd.point_id where f.identifier = 'power'`);
    expect(n?.n).toBe(new Set([...truth.keys()].filter((k) => k.includes('|power|'))).size);
  });

  for (const [table, interval] of [
    ['rollup_1m', '1 minute'],
    ['rollup_1h', '1 hour'],
    ['rollup_1d', '1 day'],
  ] as const) {
    it(`keeps ${table} equal to the aggregates of the raw data after late, offline and retried values`, async () => {
      // The tables hold what the journal merged: merge what is still pending first.
      await mergeJournal(t.db);
      const fromRaw = await queryRows(
        t.db,
        sql`select device_id, point_id, floor(extract(epoch from date_bin(${interval}::interval, time, 'epoch'::timestamptz)) * 1000)::float8 as b,
                   count(*)::int as count, sum(num)::float8 as sum, min(num)::float8 as min, max(num)::float8 as max,
                   floor(extract(epoch from min(time)) * 1000)::float8 as ft, (array_agg(num order by time))[1]::float8 as fv,
                   floor(extract(epoch from max(time)) * 1000)::float8 as lt, (array_agg(num order by time desc))[1]::float8 as lv
            from point_data group by 1, 2, 3 order by 1, 2, 3`,
      );
      const fromRollup = await queryRows(
        t.db,
        sql`select device_id, point_id, floor(extract(epoch from bucket) * 1000)::float8 as b, count, sum, min, max,
                   floor(extract(epoch from first_time) * 1000)::float8 as ft, first_value as fv, floor(extract(epoch from last_time) * 1000)::float8 as lt, last_value as lv
            from ${sql.identifier(table)} order by 1, 2, 3`,
      );
      expect(fromRollup.length).toBeGreaterThan(0);
      expect(fromRollup.map(normalise)).toEqual(fromRaw.map(normalise));
    });
  }
});

function normalise(r: Record<string, unknown>) {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)]));
}

const AGG = `query($devices: DeviceSelector!, $aggregates: [AggregateInput!]!, $from: Timestamp!, $to: Timestamp!, $interval: String!, $timezone: String) {
  pointAggregates(devices: $devices, aggregates: $aggregates, from: $from, to: $to, interval: $interval, timezone: $timezone) { assetId times columns { point function values } } }`;
const FUNCS = ['AVG', 'MIN', 'MAX', 'SUM', 'COUNT', 'FIRST', 'LAST'];

/** The expected aggregates of `truth`, computed here from the values sent. */
function expected(point: string, from: number, to: number, bucketMs: number, offsetMs = 0) {
  return assets.map((assetId) => {
    const byBucket = new Map<number, [number, number][]>();
    for (const [k, v] of truth) {
      const [a, p, time] = k.split('|');
      const tm = Number(time);
      if (a !== assetId || p !== point || tm < from || tm >= to) continue;
      const b = Math.floor((tm + offsetMs) / bucketMs) * bucketMs - offsetMs;
      byBucket.set(b, [...(byBucket.get(b) ?? []), [tm, v]]);
    }
    const times = [...byBucket.keys()].sort((x, y) => x - y);
    const cols = FUNCS.map((fn) => ({
      point,
      function: fn,
      values: times.map((b) => {
        const vs = byBucket.get(b)!.sort((x, y) => x[0] - y[0]).map((x) => x[1]);
        const sum = vs.reduce((s, x) => s + x, 0);
        return { AVG: sum / vs.length, MIN: Math.min(...vs), MAX: Math.max(...vs), SUM: sum, COUNT: vs.length, FIRST: vs[0]!, LAST: vs[vs.length - 1]! }[fn]!;
      }),
    }));
    return { assetId, times, columns: cols };
  });
}

async function aggregate(point: string, from: number, to: number, interval: string, timezone?: string) {
  const r = await t.gql(org.token, AGG, { devices: { assetIds: assets }, aggregates: FUNCS.map((f) => ({ point, function: f })), from, to, interval, ...(timezone ? { timezone } : {}) });
  expect(r.errors).toBeUndefined();
  return r.data!['pointAggregates'];
}

describe('the aggregate query reads the coarsest rollup that answers exactly', () => {
  const cases: [string, number, number, string, string | undefined, number, number][] = [
    ['1-day buckets (1-day rollups)', D0 - DAY, D0 + 2 * DAY, '1 day', undefined, DAY, 0],
    ['6-hour buckets (1-hour rollups)', D0 - DAY, D0 + 2 * DAY, '6 hours', undefined, 6 * HOUR, 0],
    ['15-minute buckets (1-minute rollups)', D0, D0 + 6 * HOUR, '15 minutes', undefined, 15 * MIN, 0],
    ['1-day buckets at +08:00 (1-hour rollups)', D0 - DAY, D0 + 2 * DAY, '1 day', '+08:00', DAY, 8 * HOUR],
    ['90-second buckets (raw data)', D0, D0 + 6 * HOUR, '90 seconds', undefined, 90_000, 0],
    ['a range not aligned to any rollup (raw data)', D0 + 1234, D0 + DAY, '1 hour', undefined, HOUR, 0],
  ];
  it.each(cases)('answers %s with the values of the raw data', async (_, from, to, interval, tz, bucketMs, offsetMs) => {
    expect(await aggregate('power', from, to, interval, tz)).toEqual(expected('power', from, to, bucketMs, offsetMs));
  });

  it('answers from rollups alone once they are the only data left', async () => {
    const before = await aggregate('temp', D0 - DAY, D0 + 2 * DAY, '1 day');
    await queryRows(t.db, sql`delete from point_data where point_id in (select id from model_features where identifier = 'temp')`);
    expect(await aggregate('temp', D0 - DAY, D0 + 2 * DAY, '1 day')).toEqual(before);
    // 90-second buckets cannot be answered from rollups, and the raw data is gone.
    const raw = await aggregate('temp', D0, D0 + HOUR, '90 seconds');
    expect(raw.every((d: { times: number[] }) => d.times.length === 0)).toBe(true);
  });
});

describe('the tables that every batch updates in place', () => {
  it('leave free space in their pages so that updates stay on the page (HOT)', async () => {
    const settings = () => queryRows<{ relname: string; reloptions: string[] | string | null }>(t.db, sql`select relname, reloptions from pg_class where relname in ('rollup_1m', 'rollup_1h', 'rollup_1d', 'point_normalized_1m') and relkind = 'r' order by relname`);
    // NOTE: set in the background when the instance starts.
    for (let k = 0; k < 50 && !(await settings()).every((r) => String(r.reloptions).includes(`fillfactor=${DERIVED_TABLE_FILLFACTOR}`)); k++) await new Promise((r) => setTimeout(r, 100));
    const rows = await settings();
    expect(rows.map((r) => r.relname)).toEqual(['point_normalized_1m', 'rollup_1d', 'rollup_1h', 'rollup_1m']);
    for (const r of rows) expect(String(r.reloptions)).toContain(`fillfactor=${DERIVED_TABLE_FILLFACTOR}`);
  });
});

describe('the rollup journal', () => {
  const pending = async () => (await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from rollup_pending`))[0]!.n;

  it('answers exactly while deltas are pending, after retries of pending values, and once merged', async () => {
    const r = rng(7);
    const from = D0 + 3 * DAY;
    const check = async () => {
      expect(await aggregate('power', from, from + DAY, '1 hour')).toEqual(expected('power', from, from + DAY, HOUR));
      expect(await aggregate('power', from, from + DAY, '1 day')).toEqual(expected('power', from, from + DAY, DAY));
    };
    // Keys unique within each send (a repeated key is a retry, which merges the journal at once).
    const fresh = (n: number, offsetMs: number) =>
      Array.from({ length: n }, (_, i) => ({ assetId: assets[i % assets.length]!, time: from + offsetMs + Math.floor(i / assets.length) * 600_000, values: { power: Math.round(r() * 4000 - 2000) / 4, temp: 0 } }));
    const first = fresh(300, 0);
    await send(first);
    expect(await pending()).toBeGreaterThan(0);
    await check();
    // Retries of values whose deltas are still pending: their buckets are rebuilt, never counted twice.
    await send(first.slice(0, 40).map((x) => ({ ...x, values: { power: Math.round(r() * 400) / 4, temp: 0 } })));
    await check();
    await send(fresh(200, 1_000));
    expect(await pending()).toBeGreaterThan(0);
    await check();
    // Merges racing each other and ingest.
    await Promise.all([mergeJournal(t.db), mergeJournalBatches(t.db), send(fresh(200, 2_000)), mergeJournalBatches(t.db)]);
    await check();
    await mergeJournal(t.db);
    expect(await pending()).toBe(0);
    await check();
  });
});
