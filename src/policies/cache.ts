import { inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../storage/db';
import { modelPolicyState, thingModels } from '../storage/schema/index';
import { loadModelPolicies, type LoadedPolicies } from './load';
import type { StorageFormSpec } from './types';

/**
 * Per-instance cache of model policies. An entry is trusted for `ttlMs`; after that one cheap
 * query compares the model's policy revision and model version, and only changed models are
 * reloaded. So a policy saved on any instance applies to new data everywhere within `ttlMs`
 * (plus the time of one batch), and the instance that saved it applies it at once.
 */
export interface PolicyCache {
  /** Policies of the given models, fresh within the TTL. Reads through `db` (the ingest transaction). */
  get(db: DbOrTx, modelIds: readonly number[]): Promise<ReadonlyMap<number, LoadedPolicies>>;
  /** Forgets a model (after a local save). */
  invalidate(modelId?: number): void;
  readonly serviceDefault: readonly StorageFormSpec[];
}

interface Entry {
  policies: LoadedPolicies;
  checkedAt: number;
}

/** Creates a cache; `now` is injectable for tests. */
export function createPolicyCache(serviceDefault: readonly StorageFormSpec[], ttlMs: number, now: () => number = Date.now): PolicyCache {
  const entries = new Map<number, Entry>();
  return {
    serviceDefault,
    invalidate(modelId) {
      if (modelId === undefined) entries.clear();
      else entries.delete(modelId);
    },
    async get(db, modelIds) {
      const t = now();
      const out = new Map<number, LoadedPolicies>();
      const stale: number[] = [];
      for (const id of new Set(modelIds)) {
        const e = entries.get(id);
        if (e && t - e.checkedAt < ttlMs) out.set(id, e.policies);
        else stale.push(id);
      }
      if (!stale.length) return out;
      const current = await db
        .select({ id: thingModels.id, version: thingModels.version, revision: sql<number>`coalesce(${modelPolicyState.revision}, 0)`.mapWith(Number) })
        .from(thingModels)
        .leftJoin(modelPolicyState, sql`${modelPolicyState.modelId} = ${thingModels.id}`)
        .where(inArray(thingModels.id, stale));
      const reload: number[] = [];
      for (const c of current) {
        const e = entries.get(c.id);
        if (e && e.policies.revision === c.revision && e.policies.modelVersion === c.version) {
          e.checkedAt = t;
          out.set(c.id, e.policies);
        } else reload.push(c.id);
      }
      if (reload.length) {
        for (const [id, p] of await loadModelPolicies(db, reload, serviceDefault)) {
          entries.set(id, { policies: p, checkedAt: t });
          out.set(id, p);
        }
      }
      return out;
    },
  };
}
