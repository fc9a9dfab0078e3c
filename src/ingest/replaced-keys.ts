import type { DbOrTx } from '../storage/db';
import { writesInFlight } from './pipeline';
import { SeriesKeyMap } from './series-keys';

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
const byTx = new WeakMap<object, SeriesKeyMap<true>>();

/** Notes keys that the transaction's point upsert replaced. */
export function noteReplaced(tx: DbOrTx, keys: readonly { readonly deviceId: number; readonly pointId: number; readonly time: number }[]): void {
  if (!keys.length) return;
  let m = byTx.get(tx);
  if (!m) byTx.set(tx, (m = new SeriesKeyMap()));
  for (const k of keys) m.set(k.deviceId, k.pointId, k.time, true);
}

/**
 * The keys the transaction's point writes replaced (for writers, which run after storage), once
 * the statements left in flight so far (the storage among them, see pipeline.ts) are answered.
 */
export async function replacedKeys(tx: DbOrTx): Promise<ReplacedKeys> {
  for (const w of writesInFlight(tx)) await w;
  return byTx.get(tx) ?? EMPTY;
}
