import { getModelsByIds, type Feature } from '../registry/models';
import type { DbOrTx } from '../storage/db';

/** A model's features indexed for validation. */
export interface CompiledModel {
  readonly id: number;
  readonly version: number;
  readonly points: ReadonlyMap<string, Feature>;
  readonly attributes: ReadonlyMap<string, Feature>;
  readonly events: ReadonlyMap<string, Feature>;
}

/** Models cached by id and version: a model update bumps the version, so a stale entry is never used. */
export interface ModelCache {
  /** The given versions of models, compiled; features are read only on a miss (a newer version replaces an older one). */
  get(db: DbOrTx, models: readonly { readonly id: number; readonly version: number }[]): Promise<Map<number, CompiledModel>>;
}

/** Most models kept; the cache is dropped whole when it grows past this. */
const MODEL_CACHE_MAX = 500;

/** Creates an empty cache (one per instance). */
export function createModelCache(): ModelCache {
  const cache = new Map<string, CompiledModel>();
  return {
    async get(db, models) {
      const out = new Map<number, CompiledModel>();
      const versions = new Map(models.map((m) => [m.id, m]));
      const missing: number[] = [];
      for (const v of versions.values()) {
        const hit = cache.get(`${v.id}:${v.version}`);
        if (hit) out.set(v.id, hit);
        else missing.push(v.id);
      }
      if (missing.length) {
        if (cache.size > MODEL_CACHE_MAX) cache.clear();
        for (const m of await getModelsByIds(db, missing)) {
          const byKind = (kind: Feature['kind']) => new Map(m.features.filter((f) => f.kind === kind).map((f) => [f.identifier, f]));
          const compiled: CompiledModel = { id: m.id, version: m.version, points: byKind('MEASUREPOINT'), attributes: byKind('ATTRIBUTE'), events: byKind('EVENT') };
          cache.set(`${m.id}:${m.version}`, compiled);
          out.set(m.id, compiled);
        }
      }
      return out;
    },
  };
}
