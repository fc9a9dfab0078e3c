import { sql, type SQL } from 'drizzle-orm';
import { AppError, ErrorCode } from '../errors';
import type { IngestBatch } from '../ingest/types';
import { concatLists } from '../lists';
import { queryRows, type DbOrTx } from '../storage/db';
import { commitBehind } from '../storage/pipelined-transaction';
import { decodeMessage, encodeBatch, isEmptyBatch, type DeviceKeys, type EncodedPayload, type LogMessage } from './message';

/**
 * Advisory-lock key that serialises log appends. A sequence value is taken before commit, so
 * without it two transactions could commit out of offset order and a reader that reads
 * "offset > last seen" would skip the one that commits later with the smaller offset. The lock is
 * taken just before the append (the last statement of the ingest transaction) and held until
 * commit, so offsets follow commit order.
 * PERF: this serialises only the tail of each ingest transaction (one insert and the commit).
 */
export const LOG_APPEND_LOCK = 0x7472_6962_6c76; // "tribl v"

/** Caches of device keys and feature names, which the batch records do not carry. */
export interface KeyCache {
  readonly devices: Map<number, DeviceKeys>;
  readonly features: Map<number, string>;
}

/** A fresh {@link KeyCache}. */
export function createKeyCache(): KeyCache {
  return { devices: new Map(), features: new Map() };
}

const CACHE_MAX = 200_000;

/** Fills `cache` with the device keys and feature names the batch needs. */
async function fillKeys(tx: DbOrTx, batch: IngestBatch, cache: KeyCache): Promise<void> {
  const ids = new Set<number>();
  for (const list of [batch.points, batch.attributes, batch.events, batch.files]) for (const r of list) if (!cache.devices.has(r.deviceId)) ids.add(r.deviceId);
  if (ids.size) {
    if (cache.devices.size > CACHE_MAX) cache.devices.clear();
    const rows = await queryRows<{ id: number; device_key: string; identifier: string }>(
      tx,
      sql`select d.id, d.device_key, m.identifier from devices d join products p on p.id = d.product_id join thing_models m on m.id = p.model_id where d.id = any(${sql.param([...ids])}::int[])`,
    );
    for (const r of rows) cache.devices.set(Number(r.id), { deviceKey: r.device_key, modelIdentifier: r.identifier });
  }
  const fids = [...new Set(batch.files.map((f) => f.featureId).filter((f): f is number => f !== null && !cache.features.has(f)))];
  if (fids.length) {
    if (cache.features.size > CACHE_MAX) cache.features.clear();
    const rows = await queryRows<{ id: number; identifier: string }>(tx, sql`select id, identifier from model_features where id = any(${sql.param(fids)}::int[])`);
    for (const r of rows) cache.features.set(Number(r.id), r.identifier);
  }
}

/** The non-empty batches of a transaction, their keys filled in, as the rows of one multi-row INSERT. */
export interface EncodedBatches {
  /** The message of each batch that carries one, in order. */
  readonly payloads: readonly EncodedPayload[];
  /** `select org, channel, payload` of the logged batches, in order (for `insert ... select`). */
  readonly rows: SQL;
}

/**
 * Encodes the messages of `batches` (empty ones carry none) for one INSERT; null when none does.
 * `payloadAs`: the type of the payload column the rows go to (the JSON text as it is, or parsed).
 */
export async function encodeBatches(tx: DbOrTx, batches: readonly IngestBatch[], cache: KeyCache, payloadAs: 'jsonb' | 'text' = 'jsonb'): Promise<EncodedBatches | null> {
  const logged = batches.filter((b) => !isEmptyBatch(b));
  if (!logged.length) return null;
  await fillKeys(tx, { ...logged[0]!, points: concatLists(logged.map((b) => b.points)), attributes: concatLists(logged.map((b) => b.attributes)), events: concatLists(logged.map((b) => b.events)), files: concatLists(logged.map((b) => b.files)) }, cache);
  const payloads = logged.map((b) => encodeBatch(b, cache.devices, cache.features));
  // NOTE: the rows take their sequence defaults in the order the SELECT yields them, so the
  // values, sorted, belong to the batches in order (see alignToBatches).
  const rows = sql`select u.o, u.c, ${payloadAs === 'jsonb' ? sql`u.p::jsonb` : sql`u.p`} from unnest(${sql.param(logged.map((b) => b.orgId))}::text[], ${sql.param(logged.map((b) => b.channel))}::text[], ${sql.param(payloads.map((p) => JSON.stringify(p)))}::text[]) with ordinality as u(o, c, p, n)
        order by u.n`;
  return { payloads, rows };
}

/** One value per batch from one per logged batch, in order (`of(k, batch)` for the k-th logged one); null for an empty batch. */
export function alignToBatches<T>(batches: readonly IngestBatch[], of: (k: number, batch: IngestBatch) => T): (T | null)[] {
  let k = 0;
  return batches.map((b) => (isEmptyBatch(b) ? null : of(k++, b)));
}

/**
 * Appends the batches of one transaction to the log, one message each, in order, and returns
 * their offsets (null for an empty batch). Must be the last write of the transaction: the lock
 * it takes is held to commit.
 * PERF: one lock and one INSERT for all the batches of a shared (group-commit) transaction: the
 * lock is held only for that statement and the commit, whatever the number of batches.
 * `notifyChannel`: see PubSub.notifyChannel.
 */
export async function appendBatches(tx: DbOrTx, batches: readonly IngestBatch[], cache: KeyCache, notifyChannel?: string): Promise<(number | null)[]> {
  const encoded = await encodeBatches(tx, batches, cache);
  if (!encoded) return batches.map(() => null);
  // With a NOTIFY channel, the insert also announces the highest offset, delivered at commit (one notification per transaction: identical ones fold).
  const returned = notifyChannel ? sql`select log_offset, pg_notify(${notifyChannel}, (max(log_offset) over ())::text) from ins` : sql`select log_offset from ins`;
  // PERF: the insert is sent right behind the lock request, and the COMMIT right behind the
  // insert when the transaction allows it, without waiting for either (the driver pipelines them
  // on the transaction's connection): the database runs each as soon as the one before is done,
  // so the lock is held for the insert and the commit only, not for round trips to this process.
  const locked = queryRows(tx, sql`select pg_advisory_xact_lock(${LOG_APPEND_LOCK})`);
  const inserted = queryRows<{ log_offset: string | number }>(tx, sql`with ins as (insert into live_messages (org_id, channel, payload) ${encoded.rows} returning log_offset) ${returned}`);
  commitBehind(tx);
  const [, rows] = await Promise.all([locked, inserted]);
  const offsets = rows.map((r) => Number(r.log_offset)).sort((a, b) => a - b);
  return alignToBatches(batches, (k) => offsets[k] ?? null);
}

/** The highest offset retention has removed (null before the first removal), as a scalar subquery. */
const PRUNED_THROUGH = sql`(select pruned_through from live_log_state where id = 1)`;

/** A one-value query of the highest offset in the log, pruned messages included (0 when none), as a float8. */
export function headOffsetSql(): SQL {
  return sql`select greatest(coalesce((select max(log_offset) from live_messages), 0), coalesce(${PRUNED_THROUGH}, 0))::float8`;
}

/** The highest offset in the log (0 when empty). */
export async function getHeadOffset(db: DbOrTx): Promise<number> {
  const [row] = await queryRows<{ head: string | number }>(db, sql`${headOffsetSql()} as head`);
  return Number(row?.head ?? 0);
}

/**
 * The oldest position a consumer of `orgId` can resume after without OFFSET_OUT_OF_RANGE (see
 * {@link checkResumeOffset}): after the last message retention removed and after every message of
 * the organisation already older than the replay window (pruning removes those at any moment).
 */
export async function getEarliestOffset(db: DbOrTx, orgId: string, windowS: number): Promise<number> {
  const [row] = await queryRows<{ o: string | number | null }>(
    db,
    sql`select greatest(coalesce(${PRUNED_THROUGH}, 0),
          coalesce((select max(log_offset) from live_messages where org_id = ${orgId} and created_at < now() - make_interval(secs => ${windowS})), 0))::float8 as o`,
  );
  return Number(row?.o ?? 0);
}

/**
 * The position just before the first message of `orgId` logged at or after `timeMs` (epoch
 * milliseconds), so that resuming after it delivers that message first; null when there is none.
 */
export async function getOffsetBefore(db: DbOrTx, orgId: string, timeMs: number): Promise<number | null> {
  const [row] = await queryRows<{ o: string | number | null }>(
    db,
    sql`select (min(log_offset) - 1)::float8 as o from live_messages where org_id = ${orgId} and created_at >= to_timestamp(${timeMs / 1000})`,
  );
  return row?.o === null || row?.o === undefined ? null : Number(row.o);
}

/** A row of live_messages as read (the payload comes as JSON text from some drivers). */
interface LogRow {
  readonly log_offset: string | number;
  readonly org_id: string;
  readonly channel: string;
  readonly payload: EncodedPayload | string;
}

/** The message of a row, with its payload. */
function decodeRow(r: Omit<LogRow, 'payload'>, payload: LogRow['payload']): LogMessage {
  return decodeMessage(Number(r.log_offset), r.org_id, r.channel, typeof payload === 'string' ? (JSON.parse(payload) as EncodedPayload) : payload);
}

/**
 * A page of the log, with the highest offset retention had removed when it was read (0 when the
 * page is empty): above the reader's position, messages after it were removed before it read them.
 */
export interface LogPage<T> {
  readonly items: T[];
  readonly prunedThrough: number;
}

/** The column of {@link LogPage.prunedThrough}, read in the page's snapshot. */
const PRUNED_COLUMN = sql`${PRUNED_THROUGH}::float8 as pruned`;

const prunedOf = (rows: readonly { pruned: number | string | null }[]): number => Number(rows[0]?.pruned ?? 0);

/** Messages after `afterOffset` in offset order, optionally of one organisation. */
export async function readLog(db: DbOrTx, afterOffset: number, limit: number, orgId?: string): Promise<LogPage<LogMessage>> {
  const rows = await queryRows<LogRow & { pruned: number | null }>(
    db,
    sql`select log_offset, org_id, channel, payload, ${PRUNED_COLUMN} from live_messages
        where ${orgId === undefined ? sql`` : sql`org_id = ${orgId} and`} log_offset > ${afterOffset} order by log_offset limit ${limit}`,
  );
  return { items: rows.map((r) => decodeRow(r, r.payload)), prunedThrough: prunedOf(rows) };
}

/** A message of the log as the hub reads it: its payload only when its organisation was watched. */
export interface LogEntry {
  readonly offset: number;
  readonly orgId: string;
  readonly message: LogMessage | null;
}

/**
 * Messages after `afterOffset` in offset order, decoded only for the organisations in `watched`
 * (others come without their payload). PERF: an instance without subscribers for an organisation
 * neither fetches nor decodes its messages; decoding was a sixth of ingest CPU with no subscriber.
 */
export async function readLogWatched(db: DbOrTx, afterOffset: number, limit: number, watched: readonly string[]): Promise<LogPage<LogEntry>> {
  const rows = await queryRows<Omit<LogRow, 'payload'> & { payload: LogRow['payload'] | null; pruned: number | null }>(
    db,
    sql`select log_offset, org_id, channel, case when org_id = any(${sql.param([...watched])}::text[]) then payload end as payload, ${PRUNED_COLUMN}
        from live_messages where log_offset > ${afterOffset} order by log_offset limit ${limit}`,
  );
  return {
    items: rows.map((r) => ({
      offset: Number(r.log_offset),
      orgId: r.org_id,
      message: r.payload === null ? null : decodeRow(r, r.payload),
    })),
    prunedThrough: prunedOf(rows),
  };
}

/** The error of a resume offset whose messages are no longer retained. */
export function offsetOutOfRange(fromOffset: number, windowS: number): AppError {
  return new AppError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${fromOffset} is older than the replay window (${windowS} s); resubscribe without an offset`, { fromOffset, replayWindowS: windowS });
}

/**
 * Checks that resuming after `fromOffset` loses nothing: OFFSET_OUT_OF_RANGE when retention has
 * removed messages after it, or when the next message of the organisation is older than the
 * replay window (it would be pruned at any moment).
 */
export async function checkResumeOffset(db: DbOrTx, orgId: string, fromOffset: number, windowS: number): Promise<void> {
  const [state] = await queryRows<{ p: string | number }>(db, sql`select ${PRUNED_THROUGH}::float8 as p`);
  if (fromOffset < Number(state?.p ?? 0)) throw offsetOutOfRange(fromOffset, windowS);
  const [next] = await queryRows<{ expired: boolean }>(
    db,
    sql`select created_at < now() - make_interval(secs => ${windowS}) as expired from live_messages where org_id = ${orgId} and log_offset > ${fromOffset} order by log_offset limit 1`,
  );
  if (next?.expired) throw offsetOutOfRange(fromOffset, windowS);
}

/**
 * Deletes messages older than the replay window, `batchRows` at a time, and records the highest
 * removed offset so that a resume from before it is refused. Returns the number removed.
 * NOTE: the deletion and the record are one statement, so that no reader sees messages gone
 * without the record (a hub compares the record with its position, see live/hub.ts).
 */
export async function pruneLog(db: DbOrTx, windowS: number, batchRows = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const [r] = await queryRows<{ n: number }>(
      db,
      sql`with d as (delete from live_messages where log_offset in (select log_offset from live_messages where created_at < now() - make_interval(secs => ${windowS}) order by log_offset limit ${batchRows}) returning log_offset),
          s as (insert into live_log_state (id, pruned_through) select 1, max(log_offset) from d having count(*) > 0
                on conflict (id) do update set pruned_through = greatest(live_log_state.pruned_through, excluded.pruned_through))
          select count(*)::int as n from d`,
    );
    const n = Number(r?.n ?? 0);
    total += n;
    if (n < batchRows) return total;
  }
}
