import type { z } from 'zod';
import { badInput } from '../errors';

/** Validates input with a zod schema; BAD_USER_INPUT lists every problem. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const p = schema.safeParse(input);
  if (!p.success) throw badInput(`invalid ${what}: ${p.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return p.data;
}
