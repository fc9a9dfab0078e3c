import { sql, type SQL } from 'drizzle-orm';
import { byDevicePointTime, inOrder } from '../ingest/point-order';
import type { PointRecord } from '../ingest/types';
import { numArray, textArray } from '../storage/array-literals';
import { queryRows, type DbOrTx } from '../storage/db';
import { toValueColumns, type ValueColumns } from './values';

/**
 * NORMALIZED_1M (EnOS "AI normalized"): one value per device, point and minute, stamped with the
 * minute's start; the value kept is the last one in the minute by time, so late data that is
 * older than the kept value does not replace it, and a retry of the kept value does.
 */
export async function upsertNormalized(tx: DbOrTx, points: readonly PointRecord[]): Promise<void> {
  const statement = normalizedStatement(points);
  if (statement) await queryRows(tx, statement);
}

/** The statement of {@link upsertNormalized} (null when there is nothing to write), to combine with other writes. */
export function normalizedStatement(points: readonly PointRecord[]): SQL | null {
  if (!points.length) return null;
  // PERF: one stable sort instead of a map of string keys: a minute's values are then consecutive
  // and its last one (latest time; of equal times, the last given) is the one kept.
  const sorted = inOrder(points, byDevicePointTime);
  const rows: { p: PointRecord; minute: number; c: ValueColumns }[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    const minute = Math.floor(p.time / 60_000) * 60_000;
    const next = sorted[i + 1];
    if (next && next.deviceId === p.deviceId && next.pointId === p.pointId && Math.floor(next.time / 60_000) * 60_000 === minute) continue;
    rows.push({ p, minute, c: toValueColumns(p.dataType, p.value) });
  }
  const num = (f: (r: (typeof rows)[number]) => number | null) => sql.param(numArray(rows.map(f)));
  const text = (f: (r: (typeof rows)[number]) => string | null) => sql.param(textArray(rows.map(f)));
  return sql`insert into point_normalized_1m as n (device_id, point_id, time, num, bool, txt, json, quality, source_time)
        select u.d, u.p, 'epoch'::timestamptz + u.t * interval '1 millisecond', u.n, u.b::bool, u.x, u.j::jsonb, u.q, 'epoch'::timestamptz + u.s * interval '1 millisecond' from unnest(${num((r) => r.p.deviceId)}::int[], ${num((r) => r.p.pointId)}::int[], ${num((r) => r.minute)}::int8[],
                             ${num((r) => r.c.num)}::float8[], ${text((r) => (r.c.bool === null ? null : String(r.c.bool)))}::text[], ${text((r) => r.c.txt)}::text[], ${text((r) => (r.c.json === null ? null : JSON.stringify(r.c.json)))}::text[],
                             ${num((r) => r.p.quality)}::smallint[], ${num((r) => r.p.time)}::int8[]) as u(d, p, t, n, b, x, j, q, s)
        on conflict (device_id, point_id, time) do update set
          num = excluded.num, bool = excluded.bool, txt = excluded.txt, json = excluded.json, quality = excluded.quality, source_time = excluded.source_time
        where excluded.source_time >= n.source_time`;
}
