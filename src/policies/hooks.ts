import type { IngestBatch, PointRecord } from '../ingest/types';
import type { AggregateRouter } from '../query/aggregates';
import type { AppDeps } from '../server/deps';
import type { DbOrTx } from '../storage/db';
import { createPolicyCache, type PolicyCache } from './cache';
import { computePoints } from './computed';
import { isNumericType } from './numeric';
import { parseFormList } from './input';
import type { LoadedPolicies } from './load';
import type { PolicySettings } from './manage';
import { upsertNormalized } from './normalized';
import { processPoints, type Kept } from './processing';
import { createRollupRouter } from './rollup-query';
import { startRetentionScheduler, type RetentionScheduler } from './retention';
import { findStoredKeys, updateRollups, type RollupTxState } from './rollups';
import { ROLLUP_FORMS, hasForm, type RollupForm, type StorageFormSpec } from './types';

/** What the policies of one instance hold: the cache, settings and the retention scheduler. */
export interface PolicyRuntime {
  readonly cache: PolicyCache;
  readonly settings: PolicySettings;
  readonly scheduler: RetentionScheduler | null;
  /** Routes aggregate queries to rollups when they answer exactly. */
  readonly aggregateRouter: AggregateRouter;
  /** Stops the scheduler. */
  stop(): Promise<void>;
}

/** What the processor hands to the writer through the batch (ingest passes the batch on). */
interface PolicyState {
  readonly policies: ReadonlyMap<number, LoadedPolicies>;
  /** Series keys whose value replaced a stored one (retries). */
  readonly replaced: ReadonlySet<string>;
}

const POLICY_STATE = Symbol('tributary.policyState');
type WithState = IngestBatch & { [POLICY_STATE]?: PolicyState };
// NOTE: a fallback in case ingest rebuilds the batch object between processors and writers.
const stateByPoints = new WeakMap<readonly PointRecord[], PolicyState>();

const runtimes = new WeakMap<AppDeps, PolicyRuntime>();

/** State shared by the batches of one ingest transaction (group commit writes several). */
interface TxState {
  readonly kept: Map<string, Kept>;
  readonly pending: Map<string, PointRecord>;
  readonly rollups: RollupTxState;
}
const txStates = new WeakMap<object, TxState>();
function txState(tx: DbOrTx): TxState {
  let s = txStates.get(tx);
  if (!s) txStates.set(tx, (s = { kept: new Map(), pending: new Map(), rollups: { merged: new Set(), recomputed: new Set() } }));
  return s;
}

/** The policy runtime of an instance (after {@link registerPolicyHooks}). */
export function policyRuntime(deps: AppDeps): PolicyRuntime {
  const r = runtimes.get(deps);
  if (!r) throw new Error('registerPolicyHooks was not called for these deps');
  return r;
}

/**
 * Plugs policies into the ingest pipeline of an instance and starts its retention scheduler
 * (when SCHEDULER_ENABLED):
 * - a processor (before storage): processing steps, computed points, and the `history` flag of
 *   points that keep only their latest value; it also notes which values replace stored ones;
 * - a writer (after storage, same transaction): NORMALIZED_1M and rollups.
 */
export function registerPolicyHooks(deps: AppDeps): PolicyRuntime {
  const serviceDefault = parseFormList(deps.config.POLICY_DEFAULT_STORAGE);
  const settings: PolicySettings = { serviceDefault, cacheTtlMs: deps.config.POLICY_CACHE_TTL_MS };
  const cache = createPolicyCache(serviceDefault, deps.config.POLICY_CACHE_TTL_MS);
  const formsOf = (policies: ReadonlyMap<number, LoadedPolicies>, p: PointRecord): readonly StorageFormSpec[] => policies.get(p.modelId)?.formsByPoint.get(p.pointId) ?? serviceDefault;

  deps.ingestPipeline.processors.push(async (tx: DbOrTx, batch: IngestBatch): Promise<IngestBatch> => {
    if (!batch.points.length) return batch;
    const policies = await cache.get(tx, [...new Set(batch.points.map((p) => p.modelId))]);
    const st = txState(tx);
    let points = await processPoints(tx, batch.points, policies, st.kept);
    points = await computePoints(tx, points, policies, st.pending);
    for (const p of points) st.pending.set(`${p.deviceId}:${p.pointId}:${p.time}`, p);
    points = points.map((p) => (hasForm(formsOf(policies, p), 'RAW') ? p : { ...p, history: false }));
    const rollupCandidates = points.filter((p) => {
      const forms = formsOf(policies, p);
      return typeof p.value === 'number' && isNumericType(p.dataType) && hasForm(forms, 'RAW') && ROLLUP_FORMS.some((f) => hasForm(forms, f));
    });
    const replaced = await findStoredKeys(tx, rollupCandidates);
    const state: PolicyState = { policies, replaced };
    stateByPoints.set(points, state);
    const out: WithState = { ...batch, points, [POLICY_STATE]: state };
    return out;
  });

  deps.ingestPipeline.writers.push(async (tx: DbOrTx, batch: IngestBatch): Promise<void> => {
    if (!batch.points.length) return;
    const state = (batch as WithState)[POLICY_STATE] ?? stateByPoints.get(batch.points) ?? { policies: await cache.get(tx, [...new Set(batch.points.map((p) => p.modelId))]), replaced: new Set<string>() };
    const normalized = batch.points.filter((p) => hasForm(formsOf(state.policies, p), 'NORMALIZED_1M'));
    if (normalized.length) await upsertNormalized(tx, normalized);
    const levelsOf = (p: PointRecord): RollupForm[] => {
      if (!isNumericType(p.dataType)) return [];
      const forms = formsOf(state.policies, p);
      return ROLLUP_FORMS.filter((f) => hasForm(forms, f));
    };
    await updateRollups(tx, batch.points, levelsOf, state.replaced, txState(tx).rollups);
  });

  const scheduler = deps.config.SCHEDULER_ENABLED ? startRetentionScheduler(deps.database, { intervalMs: deps.config.RETENTION_INTERVAL_MS, batchRows: deps.config.RETENTION_BATCH_ROWS, serviceDefault, log: deps.log }) : null;
  const runtime: PolicyRuntime = { cache, settings, scheduler, aggregateRouter: createRollupRouter(cache), stop: async () => scheduler?.stop() };
  runtimes.set(deps, runtime);
  return runtime;
}
