import { SeriesKeyMap } from './series-keys';
import type { ValidItem } from './validate-items';

/**
 * A value of a request that a later item of the same request replaced: same device, feature and
 * time (attributes: same device and attribute, since the server times them). Only the last one
 * is stored, as a re-sent key replaces a stored one.
 */
export interface SupersededValue {
  /** Index of the item whose value was not stored. */
  readonly index: number;
  /** The feature (point, attribute or event) concerned. */
  readonly identifier: string;
  /** Index of the later item whose value was stored instead. */
  readonly byIndex: number;
}

interface Keyed {
  readonly deviceId: number;
  readonly time: number;
  readonly identifier: string;
}

/**
 * Removes from `items` (in request order) every record that a later item replaces, and the
 * file references of the features concerned, so that the count, the stored rows and what
 * subscribers see agree. Returns what was removed, by item.
 */
export function dropSuperseded(items: readonly ValidItem[]): SupersededValue[] {
  // PERF: one item cannot repeat a key (its values are an object keyed by identifier).
  if (items.length < 2) return [];
  const last = new SeriesKeyMap<number>();
  const featureOf = (r: Keyed & { pointId?: number; attributeId?: number; eventId?: number }) => r.pointId ?? r.attributeId ?? r.eventId ?? 0;
  const each = (v: ValidItem): readonly (Keyed & { pointId?: number; attributeId?: number; eventId?: number })[] => (v.points.length ? v.points : v.attributes.length ? v.attributes : v.events);
  for (const v of items) for (const r of each(v)) last.set(r.deviceId, featureOf(r), r.time, v.index);
  const out: SupersededValue[] = [];
  for (const v of items) {
    const dropped = new Set<string>();
    const keep = <T extends Keyed & { pointId?: number; attributeId?: number; eventId?: number }>(rows: T[]): void => {
      let w = 0;
      for (const r of rows) {
        const byIndex = last.get(r.deviceId, featureOf(r), r.time)!;
        if (byIndex === v.index) rows[w++] = r;
        else {
          out.push({ index: v.index, identifier: r.identifier, byIndex });
          dropped.add(r.identifier);
        }
      }
      rows.length = w;
    };
    keep(v.points);
    keep(v.attributes);
    keep(v.events);
    if (dropped.size) {
      const refs = v.fileRefs.filter((f) => !dropped.has(f.identifier));
      v.fileRefs.length = 0;
      v.fileRefs.push(...refs);
    }
  }
  return out;
}
