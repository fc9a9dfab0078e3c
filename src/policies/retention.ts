import { sql } from 'drizzle-orm';
import type { Logger } from '../log';
import { startPeriodicTask, type PeriodicTask } from '../periodic-task';
import { queryRows, type Database, type DbOrTx } from '../storage/db';
import { thingModels } from '../storage/schema/index';
import { loadModelPolicies } from './load';
import { mergeJournal } from './rollup-journal';
import { RETENTION_MAX_DAYS, type StorageForm, type StorageFormSpec } from './types';

/*
 * Retention: deletes stored forms older than their policy's retention. At most one run at a
 * time across instances (a session advisory lock on PostgreSQL, plus an in-process guard).
 * On TimescaleDB whole chunks of point_data older than the longest RAW retention are dropped
 * with drop_chunks; everything else is deleted in small batches by primary key, each its own
 * short statement, so that ingestion never waits behind a long lock.
 */

/** Key of the advisory lock held during a retention run. */
export const RETENTION_LOCK_KEY = 7_262_617_008;
const DAY_MS = 86_400_000;

/** Tables governed by a storage form, and their time column. */
const TABLES: readonly { readonly table: string; readonly time: string; readonly form: StorageForm }[] = [
  { table: 'point_data', time: 'time', form: 'RAW' },
  { table: 'point_raw_values', time: 'time', form: 'RAW' },
  { table: 'point_normalized_1m', time: 'time', form: 'NORMALIZED_1M' },
  { table: 'rollup_1m', time: 'bucket', form: 'ROLLUP_1M' },
  { table: 'rollup_1h', time: 'bucket', form: 'ROLLUP_1H' },
  { table: 'rollup_1d', time: 'bucket', form: 'ROLLUP_1D' },
];

/** Options of one run. */
export interface RetentionOptions {
  /** Rows per delete statement. */
  readonly batchRows: number;
  /** Storage forms of points without a storage policy. */
  readonly serviceDefault: readonly StorageFormSpec[];
  /** The clock (tests pass a fixed one). Default: now. */
  readonly now?: Date;
  readonly log?: Logger;
}

/** What a run did; `ran` is false when another run held the lock. */
export interface RetentionResult {
  readonly ran: boolean;
  /** Rows deleted per table. */
  readonly deleted: Readonly<Record<string, number>>;
  /** Chunks dropped by drop_chunks (TimescaleDB). */
  readonly droppedChunks: number;
}

const running = new WeakSet<Database>();

/** Runs retention once, unless a run is already going on here or on another instance. */
export async function runRetention(database: Database, opts: RetentionOptions): Promise<RetentionResult> {
  const skipped: RetentionResult = { ran: false, deleted: {}, droppedChunks: 0 };
  if (running.has(database)) return skipped;
  running.add(database);
  try {
    if (database.client.kind === 'pglite') return await retain(database, opts);
    // NOTE: a session lock needs one connection for lock and unlock; the deletes use the pool.
    const reserved = await database.client.sql.reserve();
    try {
      const [got] = await reserved`select pg_try_advisory_lock(${RETENTION_LOCK_KEY}) as ok`;
      if (!got?.['ok']) return skipped;
      try {
        return await retain(database, opts);
      } finally {
        await reserved`select pg_advisory_unlock(${RETENTION_LOCK_KEY})`;
      }
    } finally {
      reserved.release();
    }
  } finally {
    running.delete(database);
  }
}

async function retain(database: Database, opts: RetentionOptions): Promise<RetentionResult> {
  const now = (opts.now ?? new Date()).getTime();
  const db = database.db;
  // The rollup journal first, so that expired buckets still pending are deleted too.
  await mergeJournal(db);
  const models = await db.select({ id: thingModels.id }).from(thingModels);
  const loaded = await loadModelPolicies(
    db,
    models.map((m) => m.id),
    opts.serviceDefault,
  );
  const deleted: Record<string, number> = {};
  let droppedChunks = 0;
  for (const t of TABLES) {
    // Points grouped by retention days of the form; points without it use the longest one.
    const byDays = new Map<number, number[]>();
    const without: number[] = [];
    for (const m of loaded.values()) {
      for (const [pointId, s] of m.storageByPoint) {
        const f = s.forms.find((x) => x.form === t.form);
        if (!f) without.push(pointId);
        else {
          const list = byDays.get(f.retentionDays) ?? [];
          list.push(pointId);
          byDays.set(f.retentionDays, list);
        }
      }
    }
    const longest = byDays.size ? Math.max(...byDays.keys()) : RETENTION_MAX_DAYS;
    if (without.length) byDays.set(longest, [...(byDays.get(longest) ?? []), ...without]);
    if (t.table === 'point_data' && database.timescale) {
      const rows = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from drop_chunks('point_data', older_than => ${new Date(now - longest * DAY_MS).toISOString()}::timestamptz)`);
      droppedChunks += rows[0]?.n ?? 0;
    }
    let n = 0;
    for (const [days, pointIds] of byDays) n += await deleteBatched(db, t.table, t.time, pointIds, new Date(now - days * DAY_MS), opts.batchRows);
    deleted[t.table] = n;
  }
  opts.log?.info({ deleted, droppedChunks }, 'retention run');
  return { ran: true, deleted, droppedChunks };
}

async function deleteBatched(db: DbOrTx, table: string, timeCol: string, pointIds: readonly number[], cutoff: Date, batchRows: number): Promise<number> {
  const tbl = sql.identifier(table);
  const col = sql.identifier(timeCol);
  let total = 0;
  for (;;) {
    const rows = await queryRows<{ n: number }>(
      db,
      sql`with victims as (
            select device_id, point_id, ${col} as t from ${tbl}
            where point_id = any(${sql.param(pointIds)}::int[]) and ${col} < ${cutoff.toISOString()}::timestamptz
            limit ${batchRows}
          ), gone as (
            delete from ${tbl} x using victims v
            where x.device_id = v.device_id and x.point_id = v.point_id and x.${col} = v.t
            returning 1
          )
          select count(*)::int as n from gone`,
    );
    const n = rows[0]?.n ?? 0;
    total += n;
    if (n < batchRows) return total;
    // Let ingestion and other work interleave between batches.
    await new Promise((r) => setImmediate(r));
  }
}

/** A periodic retention job. */
export type RetentionScheduler = PeriodicTask;

/** Runs retention every `intervalMs` (first run after one interval). */
export function startRetentionScheduler(database: Database, opts: Omit<RetentionOptions, 'now'> & { readonly intervalMs: number }): RetentionScheduler {
  return startPeriodicTask('retention run', opts.intervalMs, () => runRetention(database, opts), opts.log);
}
