import { formatLocalTime, type LocalTimeStyle } from './tsdb-time';

/** One value to report: a device, a key (point id or `fn(point)`), an instant, a value, a quality. */
export interface TsdbValue {
  readonly assetId: string;
  readonly key: string;
  readonly time: number;
  readonly value: unknown;
  readonly quality?: number | null | undefined;
}

/** How items are written (reference 6.3). */
export interface ItemOptions {
  /** 0: one item per value; 1: one item per (device, timestamp); 2: per (device, key) parallel arrays. */
  readonly itemFormat: 0 | 1 | 2;
  /** Adds `localtime` (device timezone); absent for /latest without ifWithLocalTime. */
  readonly localTime: LocalTimeStyle | null;
  readonly withQuality: boolean;
  readonly timezoneOf: (assetId: string) => string;
}

const qualityText = (q: number | null | undefined) => (q === null || q === undefined ? null : String(q));

/**
 * Shapes values into TSDB `items`. Values must arrive in the order the items should have
 * (device, then time as requested); keys keep their first-seen order.
 */
export function toItems(values: readonly TsdbValue[], o: ItemOptions): Record<string, unknown>[] {
  const local = (v: TsdbValue) => (o.localTime ? formatLocalTime(v.time, o.timezoneOf(v.assetId), o.localTime) : undefined);
  switch (o.itemFormat) {
    case 0:
      return values.map((v) => {
        const item: Record<string, unknown> = { assetId: v.assetId, timestamp: v.time, [v.key]: v.value };
        const lt = local(v);
        if (lt !== undefined) item['localtime'] = lt;
        if (o.withQuality) item['quality'] = qualityText(v.quality);
        return item;
      });
    case 1: {
      const rows = new Map<string, Record<string, unknown>>();
      for (const v of values) {
        const id = `${v.assetId}\u0000${v.time}`;
        let row = rows.get(id);
        if (!row) {
          row = { assetId: v.assetId, timestamp: v.time };
          const lt = local(v);
          if (lt !== undefined) row['localtime'] = lt;
          if (o.withQuality) row['quality'] = {};
          rows.set(id, row);
        }
        row[v.key] = v.value;
        if (o.withQuality) (row['quality'] as Record<string, unknown>)[v.key] = qualityText(v.quality);
      }
      return [...rows.values()];
    }
    case 2: {
      const series = new Map<string, { assetId: string; pointId: string; timestamp: number[]; value: unknown[]; localTime?: string[]; dataQuality?: (string | null)[] }>();
      for (const v of values) {
        const id = `${v.assetId}\u0000${v.key}`;
        let s = series.get(id);
        if (!s) {
          s = { assetId: v.assetId, pointId: v.key, timestamp: [], value: [], ...(o.localTime ? { localTime: [] } : {}), ...(o.withQuality ? { dataQuality: [] } : {}) };
          series.set(id, s);
        }
        s.timestamp.push(v.time);
        s.value.push(v.value);
        const lt = local(v);
        if (lt !== undefined) s.localTime?.push(lt);
        s.dataQuality?.push(qualityText(v.quality));
      }
      return [...series.values()];
    }
    default: {
      const never: never = o.itemFormat;
      return never;
    }
  }
}
