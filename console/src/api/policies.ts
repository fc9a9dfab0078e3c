import { gql } from './client';

/**
 * Data policies of a thing model through the public API (docs/policies.md): reading needs
 * REGISTRY_READ, changing REGISTRY_FULL.
 */

/** A processing step as read: only the fields of its kind are set. */
export interface ProcessingStep {
  readonly kind: 'SCALE' | 'RANGE' | 'DEADBAND' | 'ENUM_MAP';
  readonly multiplier: number | null;
  readonly offset: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly action: 'DROP' | 'CLAMP' | 'MARK_BAD' | null;
  readonly delta: number | null;
  readonly intervalS: number | null;
  readonly mapping: Record<string, string> | null;
}

/** A point's processing policy. */
export interface ProcessingPolicy {
  readonly point: string;
  readonly steps: readonly ProcessingStep[];
  readonly keepRaw: boolean;
  readonly updatedAt: string;
}

/** A stored form and its retention. */
export interface FormRetention {
  readonly form: string;
  readonly retentionDays: number;
}

/** A storage policy. */
export interface StoragePolicy {
  readonly name: string;
  readonly points: readonly string[] | null;
  readonly forms: readonly FormRetention[];
  readonly updatedAt: string;
}

/** A computed point. */
export interface ComputedPoint {
  readonly point: string;
  readonly kind: 'EXPRESSION' | 'WINDOW';
  readonly expression: string | null;
  readonly window: { readonly source: string; readonly function: string; readonly sizeS: number } | null;
  readonly inputs: readonly string[];
  readonly updatedAt: string;
}

/** Every policy of a model. */
export interface ModelPolicies {
  readonly model: string;
  readonly modelVersion: number;
  readonly revision: number;
  readonly processing: readonly ProcessingPolicy[];
  readonly storage: readonly StoragePolicy[];
  readonly computed: readonly ComputedPoint[];
}

/** What applies to new values of one point. */
export interface EffectivePointPolicy {
  readonly point: string;
  readonly revision: number;
  readonly processing: ProcessingPolicy | null;
  readonly storage: { readonly source: string; readonly policyName: string | null; readonly forms: readonly FormRetention[]; readonly latestOnly: boolean };
  readonly computed: ComputedPoint | null;
}

/** The stored forms the API offers, in order. */
export const STORAGE_FORMS = ['RAW', 'NORMALIZED_1M', 'ROLLUP_1M', 'ROLLUP_1H', 'ROLLUP_1D'] as const;
/** The functions a WINDOW computed point offers. */
export const WINDOW_FUNCTIONS = ['AVG', 'MIN', 'MAX', 'SUM', 'COUNT', 'FIRST', 'LAST'] as const;
/** What a RANGE step may do with a value outside its bounds. */
export const RANGE_ACTIONS = ['DROP', 'CLAMP', 'MARK_BAD'] as const;

const STEP = 'kind multiplier offset min max action delta intervalS mapping';
const PROCESSING = `point keepRaw updatedAt steps { ${STEP} }`;
const STORAGE = 'name points updatedAt forms { form retentionDays }';
const COMPUTED = 'point kind expression inputs updatedAt window { source function sizeS }';

/** Every policy of a model. */
export async function getModelPolicies(model: string, signal?: AbortSignal): Promise<ModelPolicies> {
  const q = `query ($m: ID!) { modelPolicies(model: $m) { model modelVersion revision processing { ${PROCESSING} } storage { ${STORAGE} } computed { ${COMPUTED} } } }`;
  return (await gql<{ modelPolicies: ModelPolicies }>(q, { m: model }, signal ? { signal } : {})).modelPolicies;
}

/** The effective policy of one point. */
export async function getEffectivePolicy(model: string, point: string, signal?: AbortSignal): Promise<EffectivePointPolicy> {
  const q = `query ($m: ID!, $p: String!) { effectivePointPolicy(model: $m, point: $p) {
    point revision processing { ${PROCESSING} } computed { ${COMPUTED} }
    storage { source policyName latestOnly forms { form retentionDays } } } }`;
  return (await gql<{ effectivePointPolicy: EffectivePointPolicy }>(q, { m: model, p: point }, signal ? { signal } : {})).effectivePointPolicy;
}

/** A processing step to send: exactly one kind set. */
export type ProcessingStepInput =
  | { readonly scale: { readonly multiplier: number; readonly offset?: number } }
  | { readonly range: { readonly min?: number; readonly max?: number; readonly action: string } }
  | { readonly deadband: { readonly delta?: number; readonly intervalS?: number } }
  | { readonly enumMap: { readonly mapping: Record<string, string> } };

/** Sets (replaces) a point's processing policy. */
export async function setProcessingPolicy(model: string, point: string, steps: readonly ProcessingStepInput[], keepRaw: boolean): Promise<void> {
  await gql(`mutation ($m: ID!, $p: String!, $input: ProcessingPolicyInput!) { setProcessingPolicy(model: $m, point: $p, input: $input) { point } }`, { m: model, p: point, input: { steps, keepRaw } });
}

/** Removes a point's processing policy. */
export async function deleteProcessingPolicy(model: string, point: string): Promise<void> {
  await gql(`mutation ($m: ID!, $p: String!) { deleteProcessingPolicy(model: $m, point: $p) }`, { m: model, p: point });
}

/** Creates or replaces a storage policy (by name); `points` null for the model's default policy. */
export async function setStoragePolicy(model: string, name: string, points: readonly string[] | null, forms: readonly FormRetention[]): Promise<void> {
  const input = { name, forms, ...(points ? { points } : {}) };
  await gql(`mutation ($m: ID!, $input: StoragePolicyInput!) { setStoragePolicy(model: $m, input: $input) { name } }`, { m: model, input });
}

/** Removes a storage policy. */
export async function deleteStoragePolicy(model: string, name: string): Promise<void> {
  await gql(`mutation ($m: ID!, $n: String!) { deleteStoragePolicy(model: $m, name: $n) }`, { m: model, n: name });
}

/** Creates or replaces a computed point: an expression, or a window over one source. */
export async function setComputedPoint(model: string, input: { point: string; expression?: string; window?: { source: string; function: string; sizeS: number } }): Promise<void> {
  await gql(`mutation ($m: ID!, $input: ComputedPointInput!) { setComputedPoint(model: $m, input: $input) { point } }`, { m: model, input });
}

/** Stops computing a point. */
export async function deleteComputedPoint(model: string, point: string): Promise<void> {
  await gql(`mutation ($m: ID!, $p: String!) { deleteComputedPoint(model: $m, point: $p) }`, { m: model, p: point });
}

/** A step in words: "× 0.001 + 0", "range 0 … 100, else drop". */
export function describeStep(s: ProcessingStep): string {
  switch (s.kind) {
    case 'SCALE':
      return `scale: × ${s.multiplier ?? 1}${s.offset ? ` + ${s.offset}` : ''}`;
    case 'RANGE':
      return `range: ${s.min ?? '−∞'} … ${s.max ?? '∞'}, outside: ${(s.action ?? 'DROP').toLowerCase().replace('_', ' ')}`;
    case 'DEADBAND':
      return `deadband: ${[s.delta !== null ? `moved more than ${s.delta}` : null, s.intervalS !== null ? `or ${s.intervalS} s passed` : null].filter(Boolean).join(' ')}`;
    case 'ENUM_MAP':
      return `enum map: ${Object.entries(s.mapping ?? {})
        .map(([k, v]) => `${k} → ${v}`)
        .join(', ')}`;
    default: {
      const never: never = s.kind;
      return String(never);
    }
  }
}
