import { z } from 'zod';

/** Data types of EnOS thing models. */
export const DATA_TYPES = ['INT', 'FLOAT', 'DOUBLE', 'BOOL', 'ENUM', 'STRING', 'DATE', 'TIMESTAMP', 'STRUCT', 'ARRAY', 'FILE'] as const;
export type DataType = (typeof DATA_TYPES)[number];

/** Feature identifiers: 1-128 of [A-Za-z0-9_.-] (EnOS). */
export const IDENTIFIER_RE = /^[A-Za-z0-9_.-]{1,128}$/;
export const identifierSchema = z.string().regex(IDENTIFIER_RE, 'must be 1-128 characters of [A-Za-z0-9_.-]');

/** Largest STRING maxLength and default ARRAY length (EnOS 2.4.4 limits). */
export const STRING_MAX_LENGTH = 4000;
export const ARRAY_MAX_ITEMS = 1024;
export const ENUM_MAX_VALUES = 200;
/** STRUCT/ARRAY nesting limit. */
export const TYPE_MAX_DEPTH = 4;

/** One ENUM value: its key (as sent on the wire) and a label. */
export interface EnumValue {
  readonly key: string;
  readonly label: string;
}

/** A member of a STRUCT, or a parameter of an event or service. */
export interface Member {
  readonly identifier: string;
  readonly name: string;
  readonly type: TypeSpec;
  readonly unit: string | null;
  readonly required: boolean;
}

/** The full definition of a value's type; recursive for STRUCT and ARRAY. */
export interface TypeSpec {
  readonly dataType: DataType;
  /** ENUM: allowed keys; `enumType` says whether keys are INT or STRING on the wire. */
  readonly enumValues?: readonly EnumValue[];
  readonly enumType?: 'INT' | 'STRING';
  /** STRING: maximum length in characters (default 1024). */
  readonly maxLength?: number;
  /** INT/FLOAT/DOUBLE: optional inclusive bounds (INT is always 32-bit signed). */
  readonly min?: number;
  readonly max?: number;
  /** STRUCT: members. */
  readonly members?: readonly Member[];
  /** ARRAY: item type and maximum length (default 1024). */
  readonly item?: TypeSpec;
  readonly maxItems?: number;
}

const enumValueSchema = z.object({ key: z.string().min(1).max(128), label: z.string().max(256).optional() });

/** Validates a raw type spec (from GraphQL input or an imported model) and normalises it. */
export const typeSpecSchema: z.ZodType<TypeSpec> = z.lazy(() =>
  z
    .object({
      dataType: z.enum(DATA_TYPES),
      enumValues: z.array(enumValueSchema).max(ENUM_MAX_VALUES).nullish(),
      enumType: z.enum(['INT', 'STRING']).nullish(),
      maxLength: z.number().int().min(1).max(STRING_MAX_LENGTH).nullish(),
      min: z.number().finite().nullish(),
      max: z.number().finite().nullish(),
      members: z.array(memberSchema).max(200).nullish(),
      item: typeSpecSchema.nullish(),
      maxItems: z.number().int().min(1).max(ARRAY_MAX_ITEMS).nullish(),
    })
    .superRefine((s, ctx) => {
      const issue = (message: string) => ctx.addIssue({ code: 'custom', message });
      if (s.dataType === 'ENUM') {
        if (!s.enumValues?.length) issue('ENUM needs at least one value in enumValues');
        const keys = new Set(s.enumValues?.map((v) => v.key));
        if (keys.size !== (s.enumValues?.length ?? 0)) issue('ENUM keys must be unique');
        if ((s.enumType ?? 'INT') === 'INT' && s.enumValues?.some((v) => !/^-?\d+$/.test(v.key))) issue('INT enum keys must be integers (or set enumType: STRING)');
      } else if (s.enumValues) issue(`enumValues only apply to ENUM, not ${s.dataType}`);
      if (s.dataType === 'STRUCT') {
        if (!s.members?.length) issue('STRUCT needs at least one member');
        const ids = new Set(s.members?.map((m) => m.identifier));
        if (ids.size !== (s.members?.length ?? 0)) issue('STRUCT member identifiers must be unique');
      } else if (s.members) issue(`members only apply to STRUCT, not ${s.dataType}`);
      if (s.dataType === 'ARRAY') {
        if (!s.item) issue('ARRAY needs an item type');
        else if (s.item.dataType === 'FILE' || s.item.dataType === 'ARRAY') issue('ARRAY items cannot be FILE or ARRAY');
      } else if (s.item) issue(`item only applies to ARRAY, not ${s.dataType}`);
      if (s.maxLength != null && s.dataType !== 'STRING') issue('maxLength only applies to STRING');
      if ((s.min != null || s.max != null) && !['INT', 'FLOAT', 'DOUBLE'].includes(s.dataType)) issue('min/max only apply to INT, FLOAT and DOUBLE');
      if (s.min != null && s.max != null && s.min > s.max) issue('min must not exceed max');
      if (depthOf(s as TypeSpec) > TYPE_MAX_DEPTH) issue(`types nest at most ${TYPE_MAX_DEPTH} levels`);
    })
    .transform((s): TypeSpec => normaliseSpec(s as unknown as RawSpec)),
);

/** A member as accepted on input. */
export const memberSchema: z.ZodType<Member> = z.lazy(() =>
  z
    .object({
      identifier: identifierSchema,
      name: z.string().max(256).nullish(),
      type: typeSpecSchema,
      unit: z.string().max(64).nullish(),
      required: z.boolean().nullish(),
    })
    .transform((m): Member => ({ identifier: m.identifier, name: m.name ?? m.identifier, type: m.type, unit: m.unit ?? null, required: m.required ?? false })),
);

type RawSpec = { [K in keyof TypeSpec]?: TypeSpec[K] | null };

function normaliseSpec(s: RawSpec): TypeSpec {
  const out: { -readonly [K in keyof TypeSpec]?: TypeSpec[K] } = { dataType: s.dataType! };
  if (s.dataType === 'ENUM') {
    out.enumValues = (s.enumValues ?? []).map((v) => ({ key: v.key, label: v.label ?? v.key }));
    out.enumType = s.enumType ?? 'INT';
  }
  if (s.dataType === 'STRING') out.maxLength = s.maxLength ?? 1024;
  if (s.min != null) out.min = s.min;
  if (s.max != null) out.max = s.max;
  if (s.dataType === 'STRUCT') out.members = s.members ?? [];
  if (s.dataType === 'ARRAY') {
    out.item = s.item!;
    out.maxItems = s.maxItems ?? ARRAY_MAX_ITEMS;
  }
  return out as TypeSpec;
}

function depthOf(s: TypeSpec): number {
  if (s.dataType === 'STRUCT') return 1 + Math.max(0, ...(s.members ?? []).map((m) => (m?.type ? depthOf(m.type) : 0)));
  if (s.dataType === 'ARRAY') return 1 + (s.item ? depthOf(s.item) : 0);
  return 1;
}

/** True when two specs describe the same stored shape (the type, recursively; not labels or limits). */
export function sameStorageShape(a: TypeSpec, b: TypeSpec): boolean {
  if (a.dataType !== b.dataType) return false;
  if (a.dataType === 'ENUM') return (a.enumType ?? 'INT') === (b.enumType ?? 'INT');
  if (a.dataType === 'ARRAY') return !!a.item && !!b.item && sameStorageShape(a.item, b.item);
  if (a.dataType === 'STRUCT') {
    const bm = new Map((b.members ?? []).map((m) => [m.identifier, m.type]));
    return (a.members ?? []).every((m) => !bm.has(m.identifier) || sameStorageShape(m.type, bm.get(m.identifier)!));
  }
  return true;
}
