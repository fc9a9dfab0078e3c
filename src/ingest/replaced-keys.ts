import type { DbOrTx } from '../storage/db';

/**
 * The point keys (device, point, time) whose point_data row an ingest transaction overwrote
 * (a retried value, or a key written by an earlier batch of the same transaction): the point
 * upsert reports them (`RETURNING ... xmax <> 0`), so writers (rollups) know which stored values
 * were replaced without probing point_data before storage.
 */
export interface ReplacedKeys {
  has(deviceId: number, pointId: number, time: number): boolean;
}

const EMPTY: ReplacedKeys = { has: () => false };
const byTx = new WeakMap<object, Map<number, Set<number>>>();

// NOTE: series key `device * 2^26 + point` (exact for serial ids, see policies/series-keys.ts): no strings per value.
const series = (deviceId: number, pointId: number) => deviceId * 67_108_864 + pointId;

/** Notes keys that the transaction's point upsert replaced. */
export function noteReplaced(tx: DbOrTx, keys: readonly { readonly deviceId: number; readonly pointId: number; readonly time: number }[]): void {
  if (!keys.length) return;
  let m = byTx.get(tx);
  if (!m) byTx.set(tx, (m = new Map()));
  for (const k of keys) {
    const s = series(k.deviceId, k.pointId);
    let times = m.get(s);
    if (!times) m.set(s, (times = new Set()));
    times.add(k.time);
  }
}

/** The keys the transaction's point writes replaced so far (for writers, which run after storage). */
export function replacedKeys(tx: DbOrTx): ReplacedKeys {
  const m = byTx.get(tx);
  if (!m) return EMPTY;
  return { has: (deviceId, pointId, time) => m.get(series(deviceId, pointId))?.has(time) ?? false };
}
