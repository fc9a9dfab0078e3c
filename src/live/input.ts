import { badInput } from '../errors';
import { DEFAULT_CONSUMER_GROUP } from './groups';

/** Parses a client offset (decimal string of a non-negative 64-bit integer within 2^53). */
export function parseOffset(s: string): number {
  if (!/^\d{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) throw badInput('offset must be a decimal string of a non-negative integer', { offset: s });
  return Number(s);
}

/** Checks a consumer-group name. */
export function parseGroup(g: string | null | undefined): string {
  const name = g ?? DEFAULT_CONSUMER_GROUP;
  if (!/^[\w.:-]{1,128}$/.test(name)) throw badInput('a group name has 1 to 128 letters, digits or ._:-', { group: name });
  return name;
}
