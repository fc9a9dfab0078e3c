import { z } from 'zod';
import { badInput } from '../errors';
import { identifierSchema, memberSchema, typeSpecSchema, type Member, type TypeSpec } from '../model/type-spec';

export const SIGNAL_TYPES = ['AI', 'DI', 'PI', 'GENERIC'] as const;
export type SignalType = (typeof SIGNAL_TYPES)[number];
export const EVENT_LEVELS = ['INFO', 'WARN', 'ERROR'] as const;
export type EventLevel = (typeof EVENT_LEVELS)[number];

/** Per-model limits (EnOS 2.4.4). */
export const MODEL_LIMITS = { attributes: 200, measurePoints: 5000, events: 50, services: 50 } as const;

const text = (max: number) => z.string().max(max).nullish();

const attributeSchema = z.object({ identifier: identifierSchema, name: text(256), description: text(1024), type: typeSpecSchema, unit: text(64), required: z.boolean().nullish() });
const pointSchema = z
  .object({ identifier: identifierSchema, name: text(256), description: text(1024), type: typeSpecSchema, unit: text(64), hasQuality: z.boolean().nullish(), signalType: z.enum(SIGNAL_TYPES).nullish() })
  .refine((p) => !p.hasQuality || ['INT', 'FLOAT', 'DOUBLE'].includes(p.type.dataType), { message: 'hasQuality is only allowed for INT, FLOAT and DOUBLE points' });
const eventSchema = z.object({ identifier: identifierSchema, name: text(256), description: text(1024), level: z.enum(EVENT_LEVELS), outputData: z.array(memberSchema).max(200).nullish() });
const serviceSchema = z.object({ identifier: identifierSchema, name: text(256), description: text(1024), inputData: z.array(memberSchema).max(200).nullish(), outputData: z.array(memberSchema).max(200).nullish() });

const uniqueIds = (list: readonly { identifier: string }[] | null | undefined) => new Set((list ?? []).map((x) => x.identifier)).size === (list ?? []).length;

/** A model definition as accepted by create, update and import. */
export const modelDefinitionSchema = z
  .object({
    identifier: identifierSchema,
    name: z.string().min(1).max(256),
    description: text(2048),
    attributes: z.array(attributeSchema).max(MODEL_LIMITS.attributes).nullish(),
    measurePoints: z.array(pointSchema).max(MODEL_LIMITS.measurePoints).nullish(),
    events: z.array(eventSchema).max(MODEL_LIMITS.events).nullish(),
    services: z.array(serviceSchema).max(MODEL_LIMITS.services).nullish(),
  })
  .superRefine((m, ctx) => {
    for (const k of ['attributes', 'measurePoints', 'events', 'services'] as const) {
      if (!uniqueIds(m[k])) ctx.addIssue({ code: 'custom', path: [k], message: `${k} identifiers must be unique` });
    }
    for (const k of ['outputData'] as const) for (const e of m.events ?? []) if (!uniqueIds(e[k])) ctx.addIssue({ code: 'custom', path: ['events', e.identifier], message: 'output parameter identifiers must be unique' });
  });

/** One feature of a model, normalised. */
export interface FeatureDef {
  readonly kind: 'ATTRIBUTE' | 'MEASUREPOINT' | 'EVENT' | 'SERVICE';
  readonly identifier: string;
  readonly name: string;
  readonly description: string;
  readonly type: TypeSpec | null;
  readonly unit: string | null;
  readonly hasQuality: boolean;
  readonly signalType: SignalType | null;
  readonly level: EventLevel | null;
  readonly outputData: readonly Member[];
  readonly inputData: readonly Member[];
  readonly required: boolean;
}

/** A model definition, normalised: what is stored and what export writes. */
export interface ModelDefinition {
  readonly identifier: string;
  readonly name: string;
  readonly description: string;
  readonly features: readonly FeatureDef[];
}

function zodMessage(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Validates a model definition (GraphQL input or imported JSON); BAD_USER_INPUT lists every problem. */
export function parseModelDefinition(input: unknown): ModelDefinition {
  const p = modelDefinitionSchema.safeParse(input);
  if (!p.success) throw badInput(`invalid thing model: ${zodMessage(p.error)}`);
  const m = p.data;
  const base = { description: '', type: null, unit: null, hasQuality: false, signalType: null, level: null, outputData: [], inputData: [], required: false } as const;
  const features: FeatureDef[] = [
    ...(m.attributes ?? []).map((a) => ({ ...base, kind: 'ATTRIBUTE' as const, identifier: a.identifier, name: a.name ?? a.identifier, description: a.description ?? '', type: a.type, unit: a.unit ?? null, required: a.required ?? false })),
    ...(m.measurePoints ?? []).map((p) => ({ ...base, kind: 'MEASUREPOINT' as const, identifier: p.identifier, name: p.name ?? p.identifier, description: p.description ?? '', type: p.type, unit: p.unit ?? null, hasQuality: p.hasQuality ?? false, signalType: p.signalType ?? 'GENERIC' })),
    ...(m.events ?? []).map((e) => ({ ...base, kind: 'EVENT' as const, identifier: e.identifier, name: e.name ?? e.identifier, description: e.description ?? '', level: e.level, outputData: e.outputData ?? [] })),
    ...(m.services ?? []).map((s) => ({ ...base, kind: 'SERVICE' as const, identifier: s.identifier, name: s.name ?? s.identifier, description: s.description ?? '', inputData: s.inputData ?? [], outputData: s.outputData ?? [] })),
  ];
  return { identifier: m.identifier, name: m.name, description: m.description ?? '', features };
}

/** The export document of a model: the same shape that import and create accept. */
export function toModelDocument(def: ModelDefinition): Record<string, unknown> {
  const pick = (kind: FeatureDef['kind']) => def.features.filter((f) => f.kind === kind);
  const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined && v !== ''));
  return {
    identifier: def.identifier,
    name: def.name,
    description: def.description,
    attributes: pick('ATTRIBUTE').map((f) => strip({ identifier: f.identifier, name: f.name, description: f.description, type: f.type, unit: f.unit, required: f.required || null })),
    measurePoints: pick('MEASUREPOINT').map((f) => strip({ identifier: f.identifier, name: f.name, description: f.description, type: f.type, unit: f.unit, hasQuality: f.hasQuality, signalType: f.signalType })),
    events: pick('EVENT').map((f) => strip({ identifier: f.identifier, name: f.name, description: f.description, level: f.level, outputData: f.outputData })),
    services: pick('SERVICE').map((f) => strip({ identifier: f.identifier, name: f.name, description: f.description, inputData: f.inputData, outputData: f.outputData })),
  };
}
