import type { DataType } from '../model/type-spec';

/** Data types whose values are plain numbers that steps, rollups and expressions work on. */
export const NUMERIC_TYPES: ReadonlySet<DataType> = new Set<DataType>(['INT', 'FLOAT', 'DOUBLE']);

/** Whether values of `dataType` are plain numbers (INT, FLOAT, DOUBLE). */
export function isNumericType(dataType: DataType | string): boolean {
  return NUMERIC_TYPES.has(dataType as DataType);
}
