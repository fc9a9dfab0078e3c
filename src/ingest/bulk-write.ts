import { sql } from 'drizzle-orm';
import type { NormalValue } from '../model/validate-value';
import type { DataType } from '../model/type-spec';
import { numArray, textArray } from '../storage/array-literals';
import { queryRows, type DbOrTx } from '../storage/db';
import { byDevicePointTime, inOrder } from './point-order';
import { noteReplaced } from './replaced-keys';
import type { AttributeRecord, EventRecord, IngestBatch, PointRecord } from './types';

/*
 * The hot path of ingest: every statement here writes a whole batch with one round trip,
 * `INSERT ... SELECT FROM unnest(<one array parameter per column>)`.
 *
 * NOTE: this bypasses drizzle's query builder on purpose. `db.insert().values([...])` sends one
 * bind parameter per cell (10,000 points x 9 columns would exceed PostgreSQL's 65,535-parameter
 * limit, and parsing that many parameters costs more than the insert itself). Arrays passed with
 * `sql.param(array)` are ONE parameter each, so the statement text is constant and cached.
 * Times travel as epoch milliseconds (int8) and are converted server side, exactly.
 *
 * Rows are de-duplicated on their key (the last one sent wins) because `ON CONFLICT DO UPDATE`
 * refuses to touch the same row twice in one statement, and sorted on their key so that
 * concurrent batches lock rows in the same order (no deadlocks).
 */

/** How long a device's last-update time may lag: skipping hot-row updates removes lock contention between concurrent batches of the same devices. */
export const DEVICE_TOUCH_INTERVAL_MS = 1000;

const EPOCH = sql`'epoch'::timestamptz`;

/** The typed value columns of a value (see storage/schema/timeseries.ts). */
interface ValueCells {
  num: number | null;
  bool: boolean | null;
  txt: string | null;
  json: string | null;
}

/** Splits a normalised value into the column its type is stored in. */
export function toValueCells(dataType: DataType, v: NormalValue): ValueCells {
  const cells: ValueCells = { num: null, bool: null, txt: null, json: null };
  switch (dataType) {
    case 'INT':
    case 'FLOAT':
    case 'DOUBLE':
    case 'TIMESTAMP':
      cells.num = v as number;
      break;
    case 'ENUM':
      if (typeof v === 'number') cells.num = v;
      else cells.txt = String(v);
      break;
    case 'BOOL':
      cells.bool = v as boolean;
      break;
    case 'STRING':
    case 'DATE':
    case 'FILE':
      cells.txt = String(v);
      break;
    case 'STRUCT':
    case 'ARRAY':
      cells.json = JSON.stringify(v);
      break;
    default: {
      const never: never = dataType;
      throw new Error(`unknown data type ${String(never)}`);
    }
  }
  return cells;
}

function dedupeSorted<T>(rows: readonly T[], key: (r: T) => string, cmp: (a: T, b: T) => number): T[] {
  const m = new Map<string, T>();
  for (const r of rows) m.set(key(r), r);
  return [...m.values()].sort(cmp);
}

/** The value columns of point rows; a column is absent (undefined) when NULL in every row. */
interface PointColumns {
  t: number[];
  d: number[];
  p: number[];
  n: (number | null)[] | undefined;
  /** BOOL as 'true'/'false' text. */
  b: (string | null)[] | undefined;
  x: (string | null)[] | undefined;
  j: (string | null)[] | undefined;
  q: (number | null)[] | undefined;
}

/** A column of `size` NULLs, filled in as values arrive. */
const nulls = <T>(size: number): (T | null)[] => new Array<T | null>(size).fill(null);

function pointColumns(rows: readonly PointRecord[]): PointColumns {
  const size = rows.length;
  const c: PointColumns = { t: new Array<number>(size), d: new Array<number>(size), p: new Array<number>(size), n: undefined, b: undefined, x: undefined, j: undefined, q: undefined };
  for (let i = 0; i < size; i++) {
    const r = rows[i]!;
    c.t[i] = r.time;
    c.d[i] = r.deviceId;
    c.p[i] = r.pointId;
    if (r.quality !== null) (c.q ??= nulls<number>(size))[i] = r.quality;
    const v = r.value;
    switch (r.dataType) {
      case 'INT':
      case 'FLOAT':
      case 'DOUBLE':
      case 'TIMESTAMP':
        (c.n ??= nulls<number>(size))[i] = v as number;
        break;
      default: {
        const cells = toValueCells(r.dataType, v);
        if (cells.num !== null) (c.n ??= nulls<number>(size))[i] = cells.num;
        if (cells.bool !== null) (c.b ??= nulls<string>(size))[i] = String(cells.bool);
        if (cells.txt !== null) (c.x ??= nulls<string>(size))[i] = cells.txt;
        if (cells.json !== null) (c.j ??= nulls<string>(size))[i] = cells.json;
      }
    }
  }
  return c;
}

/**
 * The rows sorted on (device, point, time), one per key (the last one sent wins: the sort is
 * stable). PERF: no string keys; already sorted input (the usual case) is not re-sorted.
 */
function sortedUniquePoints(points: readonly PointRecord[]): PointRecord[] {
  const out: PointRecord[] = [];
  for (const r of inOrder(points, byDevicePointTime)) {
    const last = out.length ? out[out.length - 1]! : undefined;
    if (last && byDevicePointTime(last, r) === 0) out[out.length - 1] = r;
    else out.push(r);
  }
  return out;
}

/**
 * Upserts points into point_data (re-sent (device, point, time) replaces; `offline` is true or
 * NULL, see storage/schema/timeseries.ts) and, for real-time
 * data, moves latest_values forward only (the newest row per series, and only when not older
 * than what is stored). One statement: the arrays travel once and both tables are written in
 * one round trip. Returns the keys whose point_data row existed already (replaced), see
 * replaced-keys.ts.
 */
export async function writePoints(tx: DbOrTx, points: readonly PointRecord[], offline: boolean): Promise<{ deviceId: number; pointId: number; time: number }[]> {
  if (!points.length) return [];
  const rows = sortedUniquePoints(points);
  const c = pointColumns(rows);
  // Value columns that are NULL in every row are not sent (a batch of DOUBLEs sends one value array, not five).
  const value = (alias: string, literal: string | undefined, arrayType: string, expr: string, nullType: string) =>
    literal !== undefined
      ? { arg: sql`, ${sql.param(literal)}::${sql.raw(arrayType)}`, alias: `, ${alias}`, expr: sql.raw(expr) }
      : { arg: sql``, alias: '', expr: sql.raw(`null::${nullType}`) };
  const lit = <T>(col: T[] | undefined, fn: (v: T[]) => string) => (col ? fn(col) : undefined);
  const [n, b, x, j, q] = [
    value('n', lit(c.n, numArray), 'float8[]', 'u.n', 'float8'),
    value('b', lit(c.b, textArray), 'text[]', 'u.b::bool', 'bool'),
    value('x', lit(c.x, textArray), 'text[]', 'u.x', 'text'),
    value('j', lit(c.j, textArray), 'text[]', 'u.j::jsonb', 'jsonb'),
    value('q', lit(c.q, numArray), 'int2[]', 'u.q', 'int2'),
  ] as const;
  // NOTE: `history: false` (set by storage policies) means the point keeps only its latest value:
  // no point_data row. Batches without such points send no flag array and skip the filter.
  const latestOnly = rows.some((r) => r.history === false);
  const h = latestOnly
    ? { arg: sql`, ${sql.param(textArray(rows.map((r) => (r.history === false ? 'false' : 'true'))))}::text[]`, alias: ', h', expr: sql`, u.h::bool as h`, where: sql`where h` }
    : { arg: sql``, alias: '', expr: sql``, where: sql`` };
  const input = sql`
    select ${EPOCH} + u.t * interval '1 millisecond' as time, u.d, u.p, ${n.expr} as n, ${b.expr} as b, ${x.expr} as x, ${j.expr} as j, ${q.expr} as q${h.expr}
    from unnest(${sql.param(numArray(c.t))}::int8[], ${sql.param(numArray(c.d))}::int4[], ${sql.param(numArray(c.p))}::int4[]${n.arg}${b.arg}${x.arg}${j.arg}${q.arg}${h.arg})
      as u(t, d, p${sql.raw(n.alias + b.alias + x.alias + j.alias + q.alias + h.alias)})`;
  const history = sql`
    insert into point_data (time, device_id, point_id, num, bool, txt, json, quality, offline)
    select time, d, p, n, b, x, j, q, ${offline ? sql`true` : sql`null::bool`} from u ${h.where}
    on conflict (device_id, point_id, time) do update
      set num = excluded.num, bool = excluded.bool, txt = excluded.txt, json = excluded.json,
          quality = excluded.quality, offline = excluded.offline
    returning device_id, point_id, time, xmax`;
  // NOTE: an upsert's new row version has a non-zero xmax when it updated (locked) an existing row, 0 when inserted.
  const replaced = sql`select h.device_id, h.point_id, (extract(epoch from h.time) * 1000)::float8 as t from h where h.xmax <> 0`;
  type Row = { device_id: number; point_id: number; t: string | number };
  const keys = (rows: Row[]) => rows.map((r) => ({ deviceId: Number(r.device_id), pointId: Number(r.point_id), time: Number(r.t) }));
  if (offline) return keys(await queryRows<Row>(tx, sql`with u as (${input}), h as (${history}) ${replaced}`));
  return keys(
    await queryRows<Row>(
      tx,
      sql`
    with u as materialized (${input}), h as (${history}), l as (
    insert into latest_values (device_id, point_id, time, num, bool, txt, json, quality, updated_at)
    select distinct on (d, p) d, p, time, n, b, x, j, q, now() from u order by d, p, time desc
    on conflict (device_id, point_id) do update
      set time = excluded.time, num = excluded.num, bool = excluded.bool, txt = excluded.txt, json = excluded.json,
          quality = excluded.quality, updated_at = now()
      where excluded.time >= latest_values.time)
    ${replaced}`,
    ),
  );
}

/** Upserts events into event_data (re-sent (device, event, time) replaces). */
export async function writeEvents(tx: DbOrTx, events: readonly EventRecord[], offline: boolean): Promise<void> {
  if (!events.length) return;
  const rows = dedupeSorted(events, (r) => `${r.deviceId}:${r.eventId}:${r.time}`, (a, b) => a.deviceId - b.deviceId || a.eventId - b.eventId || a.time - b.time);
  await tx.execute(sql`
    insert into event_data (time, device_id, event_id, level, params, offline)
    select ${EPOCH} + u.t * interval '1 millisecond', u.d, u.e, u.l, u.p::jsonb, ${offline}
    from unnest(${sql.param(rows.map((r) => r.time))}::int8[], ${sql.param(rows.map((r) => r.deviceId))}::int4[], ${sql.param(rows.map((r) => r.eventId))}::int4[],
                ${sql.param(rows.map((r) => r.level))}::text[], ${sql.param(rows.map((r) => JSON.stringify(r.params)))}::text[])
      as u(t, d, e, l, p)
    on conflict (device_id, event_id, time) do update
      set level = excluded.level, params = excluded.params, offline = excluded.offline, ingested_at = now()`);
}

/** Records attribute changes in attribute_history (only values that differ from the current one), then upserts attribute_values. */
export async function writeAttributes(tx: DbOrTx, attributes: readonly AttributeRecord[]): Promise<void> {
  if (!attributes.length) return;
  const rows = dedupeSorted(attributes, (r) => `${r.deviceId}:${r.attributeId}`, (a, b) => a.deviceId - b.deviceId || a.attributeId - b.attributeId);
  const t = sql.param(rows.map((r) => r.time));
  const d = sql.param(rows.map((r) => r.deviceId));
  const a = sql.param(rows.map((r) => r.attributeId));
  const v = sql.param(rows.map((r) => JSON.stringify(r.value)));
  // NOTE: both statements are sent at once and run in order: the history compares with the values before the upsert.
  const history = tx.execute(sql`
    insert into attribute_history (time, device_id, attribute_id, value, source)
    select ${EPOCH} + u.t * interval '1 millisecond', u.d, u.a, u.v::jsonb, 'ingest'
    from unnest(${t}::int8[], ${d}::int4[], ${a}::int4[], ${v}::text[]) as u(t, d, a, v)
    where not exists (select 1 from attribute_values av where av.device_id = u.d and av.attribute_id = u.a and av.value = u.v::jsonb)
    on conflict (device_id, attribute_id, time) do update set value = excluded.value, source = excluded.source`);
  const values = tx.execute(sql`
    insert into attribute_values (device_id, attribute_id, value, updated_at)
    select u.d, u.a, u.v::jsonb, ${EPOCH} + u.t * interval '1 millisecond'
    from unnest(${t}::int8[], ${d}::int4[], ${a}::int4[], ${v}::text[]) as u(t, d, a, v)
    on conflict (device_id, attribute_id) do update set value = excluded.value, updated_at = excluded.updated_at`);
  await Promise.all([history, values]);
}

const LAST_UPDATE_COLUMN = { points: 'measurepoint_last_update', attributes: 'attribute_last_update', events: 'event_last_update' } as const;

/**
 * Sets the devices' last-update time of one kind and moves `inactive` devices to `online`.
 * A device touched less than {@link DEVICE_TOUCH_INTERVAL_MS} ago is skipped, and so is one whose
 * row another transaction holds, so that concurrent batches for the same devices do not queue on
 * these rows.
 */
export async function touchDevices(tx: DbOrTx, kind: keyof typeof LAST_UPDATE_COLUMN, deviceIds: readonly number[]): Promise<void> {
  if (!deviceIds.length) return;
  const ids = [...new Set(deviceIds)].sort((x, y) => x - y);
  const col = sql.raw(LAST_UPDATE_COLUMN[kind]);
  // NOTE: SKIP LOCKED: a device row locked by another transaction (usually a concurrent batch
  // touching the same device) is left to it, instead of queueing this whole transaction behind
  // that one's commit. If that transaction rolls back, the next batch of the device touches it.
  await tx.execute(sql`
    update devices set ${col} = now(), status = case when status = 'inactive' then 'online' else status end
    where id in (select id from devices
                 where id = any(${sql.param(ids)}::int4[])
                   and (${col} is null or ${col} < now() - ${DEVICE_TOUCH_INTERVAL_MS} * interval '1 millisecond' or status = 'inactive')
                 order by id for no key update skip locked)`);
}

/**
 * Writes every part of a validated batch (inside the caller's transaction). `touch` says which
 * devices need their last-update time set (ingest knows from the device rows it read, so most
 * batches skip that statement).
 */
export async function writeBatch(tx: DbOrTx, batch: IngestBatch, touch: (deviceId: number) => boolean = () => true): Promise<void> {
  const offline = batch.channel === 'OFFLINE';
  // PERF: the statements are sent together (the driver pipelines them on the transaction's
  // connection, in this order): one round trip instead of one each. None needs another's result.
  const [replaced] = await Promise.all([
    writePoints(tx, batch.points, offline),
    writeEvents(tx, batch.events, offline),
    writeAttributes(tx, batch.attributes),
    touchDevices(tx, 'points', batch.points.map((p) => p.deviceId).filter(touch)),
    touchDevices(tx, 'events', batch.events.map((e) => e.deviceId).filter(touch)),
    touchDevices(tx, 'attributes', batch.attributes.map((a) => a.deviceId).filter(touch)),
  ]);
  noteReplaced(tx, replaced);
}
