import type { PointRecord } from './types';

/** Orders point records by device, point, then time. */
export const byDevicePointTime = (a: PointRecord, b: PointRecord): number => a.deviceId - b.deviceId || a.pointId - b.pointId || a.time - b.time;

/**
 * `items` in `order`, sorted stably (of equal items, the one given last stays last). PERF: items
 * already in order, the usual case for a batch, are returned as they are: no copy, no sort.
 */
export function inOrder<T>(items: readonly T[], order: (a: T, b: T) => number): readonly T[] {
  for (let i = 1; i < items.length; i++) if (order(items[i - 1]!, items[i]!) > 0) return [...items].sort(order);
  return items;
}
