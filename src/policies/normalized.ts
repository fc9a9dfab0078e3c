import { sql, type SQL } from 'drizzle-orm';
import type { PointRecord } from '../ingest/types';
import { queryRows, type DbOrTx } from '../storage/db';
import { toValueColumns } from './values';

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
  const last = new Map<string, PointRecord>();
  for (const p of points) {
    const k = `${p.deviceId}:${p.pointId}:${Math.floor(p.time / 60_000)}`;
    const cur = last.get(k);
    if (!cur || p.time >= cur.time) last.set(k, p);
  }
  if (!last.size) return null;
  const rows = [...last.values()].sort((a, b) => a.deviceId - b.deviceId || a.pointId - b.pointId || a.time - b.time).map((p) => ({ p, c: toValueColumns(p.dataType, p.value) }));
  const col = <T>(f: (r: (typeof rows)[number]) => T) => sql.param(rows.map(f));
  return sql`insert into point_normalized_1m as n (device_id, point_id, time, num, bool, txt, json, quality, source_time)
        select u.d, u.p, 'epoch'::timestamptz + u.t * interval '1 millisecond', u.n, u.b::bool, u.x, u.j::jsonb, u.q, 'epoch'::timestamptz + u.s * interval '1 millisecond' from unnest(${col((r) => r.p.deviceId)}::int[], ${col((r) => r.p.pointId)}::int[], ${col((r) => Math.floor(r.p.time / 60_000) * 60_000)}::int8[],
                             ${col((r) => r.c.num)}::float8[], ${col((r) => (r.c.bool === null ? null : String(r.c.bool)))}::text[], ${col((r) => r.c.txt)}::text[], ${col((r) => (r.c.json === null ? null : JSON.stringify(r.c.json)))}::text[],
                             ${col((r) => r.p.quality)}::smallint[], ${col((r) => r.p.time)}::int8[]) as u(d, p, t, n, b, x, j, q, s)
        on conflict (device_id, point_id, time) do update set
          num = excluded.num, bool = excluded.bool, txt = excluded.txt, json = excluded.json, quality = excluded.quality, source_time = excluded.source_time
        where excluded.source_time >= n.source_time`;
}
