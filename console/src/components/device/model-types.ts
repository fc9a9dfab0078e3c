/** The parts of a thing model the device page shows. */

/** A measure point of the model. */
export interface PointDef {
  readonly identifier: string;
  readonly name: string;
  readonly unit: string | null;
  readonly type: { readonly dataType: string; readonly enumValues: readonly { readonly key: string; readonly label: string }[] | null };
}

/** An event of the model. */
export interface EventDef {
  readonly identifier: string;
  readonly name: string;
  readonly level: string;
}

/** GraphQL selection of PointDef. */
export const POINT_DEF_FIELDS = 'identifier name unit type { dataType enumValues { key label } }';

const NUMERIC = new Set(['INT', 'FLOAT', 'DOUBLE']);

/** Whether a point's values can be charted. */
export function isNumericPoint(p: PointDef): boolean {
  return NUMERIC.has(p.type.dataType);
}

/** A point's value for people: an ENUM key gets its label. */
export function displayValue(p: PointDef | undefined, value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (p?.type.dataType === 'ENUM') {
    const label = p.type.enumValues?.find((e) => e.key === String(value))?.label;
    if (label) return label;
  }
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 1e4) / 1e4);
  return typeof value === 'string' ? value : JSON.stringify(value);
}
