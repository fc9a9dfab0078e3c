/*
 * The policy model: processing steps, storage forms and computed points, as stored (jsonb) and
 * as the services and the ingest hooks use them.
 */

/** Quality code written by a RANGE step with action MARK_BAD: the worst code of EnOS's 0-9 scale. */
export const QUALITY_BAD = 9;

/** What a RANGE step does with a value outside [min, max]. */
export type RangeAction = 'DROP' | 'CLAMP' | 'MARK_BAD';

/** One processing step; steps run in the order given. */
export type ProcessingStep =
  | { readonly kind: 'SCALE'; readonly multiplier: number; readonly offset: number }
  | { readonly kind: 'RANGE'; readonly min: number | null; readonly max: number | null; readonly action: RangeAction }
  /** Keeps a value only if it moved by more than `delta` since the last kept one, or `intervalS` seconds passed. */
  | { readonly kind: 'DEADBAND'; readonly delta: number | null; readonly intervalS: number | null }
  /** Maps received ENUM keys to stored ones; unmapped keys pass unchanged. */
  | { readonly kind: 'ENUM_MAP'; readonly mapping: Readonly<Record<string, string>> };

/** The processing policy of one point. */
export interface ProcessingPolicy {
  readonly pointId: number;
  readonly point: string;
  readonly steps: readonly ProcessingStep[];
  readonly keepRaw: boolean;
  readonly modelVersion: number;
  readonly updatedAt: Date;
}

/** Forms a point's data can be stored in. */
export const STORAGE_FORMS = ['RAW', 'NORMALIZED_1M', 'ROLLUP_1M', 'ROLLUP_1H', 'ROLLUP_1D'] as const;
export type StorageForm = (typeof STORAGE_FORMS)[number];
export const ROLLUP_FORMS = ['ROLLUP_1M', 'ROLLUP_1H', 'ROLLUP_1D'] as const;
export type RollupForm = (typeof ROLLUP_FORMS)[number];

/** Shortest and longest retention of a form: one day to twenty years. */
export const RETENTION_MIN_DAYS = 1;
export const RETENTION_MAX_DAYS = 7305;

/** One stored form and how long it is kept. */
export interface StorageFormSpec {
  readonly form: StorageForm;
  readonly retentionDays: number;
}

/** Where a point's effective storage policy comes from. */
export type StorageSource = 'POINT_GROUP' | 'MODEL_DEFAULT' | 'SERVICE_DEFAULT';

/** A storage policy of a model: for the listed points, or (`points` null) the model's default. */
export interface StoragePolicy {
  readonly id: number;
  readonly name: string;
  /** Point identifiers; null for the model default. */
  readonly points: readonly string[] | null;
  readonly pointIds: readonly number[];
  readonly forms: readonly StorageFormSpec[];
  readonly modelVersion: number;
  readonly updatedAt: Date;
}

/** Functions a WINDOW computed point can apply. */
export const WINDOW_FUNCTIONS = ['AVG', 'MIN', 'MAX', 'SUM', 'COUNT', 'FIRST', 'LAST'] as const;
export type WindowFunction = (typeof WINDOW_FUNCTIONS)[number];

/** A computed point: an expression over points of the same device, or a window over one point. */
export type ComputedPoint =
  | {
      readonly kind: 'EXPRESSION';
      readonly pointId: number;
      readonly point: string;
      readonly expression: string;
      /** Point ids the expression reads, with their identifiers. */
      readonly inputs: readonly { readonly pointId: number; readonly identifier: string }[];
      readonly modelVersion: number;
      readonly updatedAt: Date;
    }
  | {
      readonly kind: 'WINDOW';
      readonly pointId: number;
      readonly point: string;
      readonly sourcePointId: number;
      readonly source: string;
      readonly function: WindowFunction;
      readonly windowS: number;
      readonly modelVersion: number;
      readonly updatedAt: Date;
    };

/** Every policy of one model, as the ingest hooks use them. */
export interface ModelPolicies {
  readonly modelId: number;
  readonly modelVersion: number;
  /** Bumped by every policy change of the model. */
  readonly revision: number;
  readonly processing: ReadonlyMap<number, ProcessingPolicy>;
  readonly storage: readonly StoragePolicy[];
  /** Effective storage forms per point id (points of the model). */
  readonly formsByPoint: ReadonlyMap<number, readonly StorageFormSpec[]>;
  readonly computed: readonly ComputedPoint[];
}

/** Whether a form list stores `form`. */
export function hasForm(forms: readonly StorageFormSpec[] | undefined, form: StorageForm): boolean {
  return !!forms?.some((f) => f.form === form);
}
