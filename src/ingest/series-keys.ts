/**
 * A map keyed by (device, point, time) that builds no strings: ingest and its hooks look up every value
 * of every batch, and string keys (with the garbage they leave) were a visible share of the cost.
 * The series key `device * 2^26 + point` is an exact JS integer for point ids below 2^26 and
 * device ids below 2^27 (both serial ids).
 */
export class SeriesKeyMap<V> {
  private readonly bySeries = new Map<number, Map<number, V>>();
  private count = 0;

  /** Number of keys. */
  get size(): number {
    return this.count;
  }

  get(deviceId: number, pointId: number, time: number): V | undefined {
    return this.bySeries.get(seriesKey(deviceId, pointId))?.get(time);
  }

  has(deviceId: number, pointId: number, time: number): boolean {
    return this.bySeries.get(seriesKey(deviceId, pointId))?.has(time) ?? false;
  }

  set(deviceId: number, pointId: number, time: number, value: V): this {
    const s = seriesKey(deviceId, pointId);
    let m = this.bySeries.get(s);
    if (!m) this.bySeries.set(s, (m = new Map()));
    if (!m.has(time)) this.count++;
    m.set(time, value);
    return this;
  }

  delete(deviceId: number, pointId: number, time: number): boolean {
    const deleted = this.bySeries.get(seriesKey(deviceId, pointId))?.delete(time) ?? false;
    if (deleted) this.count--;
    return deleted;
  }

  /** The values, series by series (in first-insertion order of series, then of times). */
  *values(): IterableIterator<V> {
    for (const m of this.bySeries.values()) yield* m.values();
  }
}

/** The number identifying a series (device, point): `device * 2^26 + point` (exact in the range above). */
export function seriesKey(deviceId: number, pointId: number): number {
  return deviceId * 67_108_864 + pointId;
}
