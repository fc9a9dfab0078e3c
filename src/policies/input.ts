import { z } from 'zod';
import { badInput } from '../errors';
import type { Feature, ThingModel } from '../registry/models';
import { compileExpression } from './expression';
import { RETENTION_MAX_DAYS, RETENTION_MIN_DAYS, STORAGE_FORMS, WINDOW_FUNCTIONS, type ProcessingStep, type StorageFormSpec, type WindowFunction } from './types';

/*
 * Validation of policy inputs on save: shape first (zod), then against the model (points exist,
 * types fit, expressions reference numeric points). Every problem is BAD_USER_INPUT naming it;
 * nothing is checked again at ingest time.
 */

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const stepSchema = z
  .object({
    scale: z.object({ multiplier: finite, offset: finite.nullish() }).nullish(),
    range: z.object({ min: finite.nullish(), max: finite.nullish(), action: z.enum(['DROP', 'CLAMP', 'MARK_BAD']) }).nullish(),
    deadband: z.object({ delta: finite.min(0).nullish(), intervalS: z.number().int().min(1).max(31_536_000).nullish() }).nullish(),
    enumMap: z.object({ mapping: z.record(z.string().max(128), z.union([z.string().max(128), finite])) }).nullish(),
  })
  .strict();

const processingSchema = z.object({ steps: z.array(stepSchema).max(16, 'at most 16 steps'), keepRaw: z.boolean().nullish() });

const NUMERIC = new Set(['INT', 'FLOAT', 'DOUBLE']);

/** Whether a point stores a plain number that steps, rollups and expressions can use. */
export function isNumericPoint(f: Feature): boolean {
  return !!f.type && NUMERIC.has(f.type.dataType);
}

/** The measurement point `identifier` of the model, or BAD_USER_INPUT. */
export function findPoint(model: ThingModel, identifier: string): Feature {
  const f = model.features.find((x) => x.kind === 'MEASUREPOINT' && x.identifier === identifier);
  if (!f) throw badInput(`model ${model.identifier} has no measurement point ${identifier}`, { point: identifier });
  return f;
}

function zodProblem(e: z.ZodError, what: string): never {
  const i = e.issues[0];
  throw badInput(`invalid ${what}: ${i ? `${i.path.join('.') || 'input'}: ${i.message}` : 'bad input'}`);
}

/** Validates a processing policy input for `point`; returns the steps to store. */
export function parseProcessingInput(point: Feature, input: unknown): { steps: ProcessingStep[]; keepRaw: boolean } {
  const parsed = processingSchema.safeParse(input);
  if (!parsed.success) zodProblem(parsed.error, 'processing policy');
  const steps: ProcessingStep[] = parsed.data.steps.map((s, i) => {
    const given = Object.entries(s).filter(([, v]) => v != null);
    if (given.length !== 1) throw badInput(`step ${i + 1} must set exactly one of scale, range, deadband, enumMap`);
    const numeric = isNumericPoint(point);
    const needNumeric = (kind: string) => {
      if (!numeric) throw badInput(`step ${i + 1} (${kind}) needs a numeric point; ${point.identifier} is ${point.type?.dataType ?? 'untyped'}`);
    };
    if (s.scale) {
      needNumeric('scale');
      return { kind: 'SCALE', multiplier: s.scale.multiplier, offset: s.scale.offset ?? 0 };
    }
    if (s.range) {
      needNumeric('range');
      const min = s.range.min ?? null;
      const max = s.range.max ?? null;
      if (min === null && max === null) throw badInput(`step ${i + 1} (range) needs min or max`);
      if (min !== null && max !== null && min > max) throw badInput(`step ${i + 1} (range) has min ${min} above max ${max}`);
      return { kind: 'RANGE', min, max, action: s.range.action };
    }
    if (s.deadband) {
      needNumeric('deadband');
      const delta = s.deadband.delta ?? null;
      const intervalS = s.deadband.intervalS ?? null;
      if (delta === null && intervalS === null) throw badInput(`step ${i + 1} (deadband) needs delta or intervalS`);
      return { kind: 'DEADBAND', delta, intervalS };
    }
    const mapping = s.enumMap?.mapping ?? {};
    if (point.type?.dataType !== 'ENUM') throw badInput(`step ${i + 1} (enumMap) needs an ENUM point; ${point.identifier} is ${point.type?.dataType ?? 'untyped'}`);
    const keys = new Set((point.type.enumValues ?? []).map((v) => v.key));
    const out: Record<string, string> = {};
    for (const [from, to] of Object.entries(mapping)) {
      if (!keys.has(String(to))) throw badInput(`step ${i + 1} (enumMap) maps ${from} to ${String(to)}, which is not a value of ${point.identifier}`);
      out[from] = String(to);
    }
    return { kind: 'ENUM_MAP', mapping: out };
  });
  return { steps, keepRaw: parsed.data.keepRaw ?? false };
}

const formsSchema = z
  .array(z.object({ form: z.enum(STORAGE_FORMS), retentionDays: z.number().int().min(RETENTION_MIN_DAYS, `retention is at least ${RETENTION_MIN_DAYS} day`).max(RETENTION_MAX_DAYS, 'retention is at most 20 years (7305 days)') }))
  .max(STORAGE_FORMS.length);

const storageSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9_.-]'),
  points: z.array(z.string()).max(10_000).nullish(),
  forms: formsSchema,
});

/** Validates a storage policy input; `points` null means the model's default policy. */
export function parseStorageInput(model: ThingModel, input: unknown): { name: string; points: Feature[] | null; forms: StorageFormSpec[] } {
  const parsed = storageSchema.safeParse(input);
  if (!parsed.success) zodProblem(parsed.error, 'storage policy');
  const { name, forms } = parsed.data;
  const seen = new Set<string>();
  for (const f of forms) {
    if (seen.has(f.form)) throw badInput(`form ${f.form} is listed twice`);
    seen.add(f.form);
  }
  const points = parsed.data.points == null ? null : [...new Set(parsed.data.points)].map((p) => findPoint(model, p));
  if (points && !points.length) throw badInput('a storage policy lists at least one point (leave points out for the model default)');
  if (points && forms.some((f) => f.form.startsWith('ROLLUP_'))) {
    const bad = points.find((p) => !isNumericPoint(p));
    if (bad) throw badInput(`rollups need numeric points; ${bad.identifier} is ${bad.type?.dataType ?? 'untyped'}`);
  }
  return { name, points, forms };
}

/** Parses a storage form list like `RAW:90,ROLLUP_1H:1825` (config); `NONE` is the empty list. */
export function parseFormList(s: string): StorageFormSpec[] {
  if (s === 'NONE') return [];
  const forms = s.split(',').map((part) => {
    const [form, days] = part.split(':');
    return { form: form as StorageFormSpec['form'], retentionDays: Number(days) };
  });
  const r = formsSchema.safeParse(forms);
  if (!r.success) zodProblem(r.error, 'storage forms');
  return r.data;
}

const computedSchema = z.object({
  point: z.string(),
  expression: z.string().nullish(),
  window: z.object({ source: z.string(), function: z.enum(WINDOW_FUNCTIONS), sizeS: z.number().int().min(1).max(86_400) }).nullish(),
});

/** A validated computed point definition. */
export type ComputedInput =
  | { readonly kind: 'EXPRESSION'; readonly point: Feature; readonly expression: string; readonly inputs: readonly Feature[] }
  | { readonly kind: 'WINDOW'; readonly point: Feature; readonly source: Feature; readonly function: WindowFunction; readonly windowS: number };

/**
 * Validates a computed point: the point and its inputs are numeric points of the model, the
 * expression parses and reads only those, and no input is itself computed (no chains).
 * `computedIds` are the model's other computed points.
 */
export function parseComputedInput(model: ThingModel, input: unknown, computedIds: ReadonlySet<number>): ComputedInput {
  const parsed = computedSchema.safeParse(input);
  if (!parsed.success) zodProblem(parsed.error, 'computed point');
  const { expression, window } = parsed.data;
  const point = findPoint(model, parsed.data.point);
  if (!isNumericPoint(point)) throw badInput(`a computed point must be numeric; ${point.identifier} is ${point.type?.dataType ?? 'untyped'}`);
  const checkInput = (identifier: string, role: string): Feature => {
    const f = model.features.find((x) => x.kind === 'MEASUREPOINT' && x.identifier === identifier);
    if (!f) throw badInput(`${role} ${identifier} is not a measurement point of model ${model.identifier}`, { identifier });
    if (f.id === point.id) throw badInput(`computed point ${point.identifier} cannot read itself`);
    if (!isNumericPoint(f)) throw badInput(`${role} ${identifier} is ${f.type?.dataType ?? 'untyped'}, not numeric`, { identifier });
    if (computedIds.has(f.id)) throw badInput(`${role} ${identifier} is itself computed; computed points read reported points only`, { identifier });
    return f;
  };
  if ((expression == null) === (window == null)) throw badInput('a computed point has exactly one of expression and window');
  if (expression != null) {
    const compiled = compileExpression(expression);
    if (!compiled.identifiers.length) throw badInput('expression reads no point');
    return { kind: 'EXPRESSION', point, expression, inputs: compiled.identifiers.map((id) => checkInput(id, 'expression input')) };
  }
  const w = window!;
  return { kind: 'WINDOW', point, source: checkInput(w.source, 'window source'), function: w.function, windowS: w.sizeS };
}
