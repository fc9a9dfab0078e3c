import type { NormalValue } from '../model/validate-value';
import type { DataType } from '../model/type-spec';

/** A value spread over the typed value columns (see storage/schema/timeseries.ts). */
export interface ValueColumns {
  readonly num: number | null;
  readonly bool: boolean | null;
  readonly txt: string | null;
  readonly json: NormalValue | null;
}

/** Which column a data type stores its values in. */
export function toValueColumns(dataType: DataType, value: NormalValue): ValueColumns {
  const none = { num: null, bool: null, txt: null, json: null };
  if (value === null) return none;
  switch (dataType) {
    case 'INT':
    case 'FLOAT':
    case 'DOUBLE':
    case 'TIMESTAMP':
      return { ...none, num: Number(value) };
    case 'BOOL':
      return { ...none, bool: Boolean(value) };
    case 'ENUM':
      return typeof value === 'number' ? { ...none, num: value } : { ...none, txt: String(value) };
    case 'STRING':
    case 'DATE':
    case 'FILE':
      return { ...none, txt: String(value) };
    case 'STRUCT':
    case 'ARRAY':
      return { ...none, json: value };
    default: {
      const never: never = dataType;
      return never;
    }
  }
}

/** Worst of two qualities (higher EnOS codes are worse; null means none given). */
export function worstQuality(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
