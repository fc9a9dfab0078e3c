import type { SQL } from 'drizzle-orm';
import { replacedKeys } from '../ingest/replaced-keys';
import { writeInFlight } from '../ingest/pipeline';
import type { Channel, IngestBatch, PointRecord } from '../ingest/types';
import type { AggregateRouter } from '../query/aggregates';
import type { AppDeps } from '../server/deps';
import type { DbOrTx } from '../storage/db';
import { createPolicyCache, type PolicyCache } from './cache';
import { computePoints } from './computed';
import { isNumericType } from './numeric';
import { parseFormList } from './input';
import type { LoadedPolicies } from './load';
import type { PolicySettings } from './manage';
import { runWrites } from './combined';
import { SeriesKeyMap } from '../ingest/series-keys';
import { normalizedStatement } from './normalized';
import { processPoints, type Kept } from './processing';
import { createRollupRouter } from './rollup-query';
import { tuneDerivedTables } from './table-settings';
import { startRetentionScheduler, type RetentionScheduler } from './retention';
import type { PeriodicTask } from '../periodic-task';
import { mergePending, startRollupMerger } from './rollup-journal';
import { rollupWrites } from './rollups';
import { ROLLUP_FORMS, hasForm, type RollupForm, type StorageFormSpec } from './types';

/** What the policies of one instance hold: the cache, settings and the retention scheduler. */
export interface PolicyRuntime {
  readonly cache: PolicyCache;
  readonly settings: PolicySettings;
  readonly scheduler: RetentionScheduler | null;
  /** The periodic merge of the rollup journal. */
  readonly merger: PeriodicTask;
  /** Routes aggregate queries to rollups when they answer exactly. */
  readonly aggregateRouter: AggregateRouter;
  /** Stops the scheduler and the periodic merge of the rollup journal (rollup-journal.ts). */
  stop(): Promise<void>;
}

/** What the processor hands to the writer through the batch (ingest passes the batch on). */
interface PolicyState {
  readonly policies: ReadonlyMap<number, LoadedPolicies>;
}

const POLICY_STATE = Symbol('tributary.policyState');
type WithState = IngestBatch & { [POLICY_STATE]?: PolicyState };
// NOTE: a fallback in case ingest rebuilds the batch object between processors and writers.
const stateByPoints = new WeakMap<readonly PointRecord[], PolicyState>();

const runtimes = new WeakMap<AppDeps, PolicyRuntime>();

/** The distinct models of a batch's points (usually one). */
function modelIdsOf(points: readonly PointRecord[]): number[] {
  const ids: number[] = [];
  for (const p of points) if (!ids.includes(p.modelId)) ids.push(p.modelId);
  return ids;
}

/** What the storage policy of a point asks for. */
interface PointSpec {
  readonly raw: boolean;
  readonly normalized: boolean;
  readonly rollups: readonly RollupForm[];
}

/** A processed point and the derived forms it feeds. */
interface Derived {
  readonly point: PointRecord;
  readonly levels: readonly RollupForm[];
  readonly normalized: boolean;
}

/**
 * State shared by the batches of one ingest transaction (group commit writes several): deadband
 * state and computed-point inputs of earlier batches (not stored yet when later batches are
 * processed), and the derived writes (normalized values, rollups) not written yet.
 */
interface TxState {
  readonly kept: Map<number, Kept>;
  readonly pending: SeriesKeyMap<PointRecord>;
  unwritten: { readonly channel: Channel; readonly derived: readonly Derived[] }[];
}
const txStates = new WeakMap<object, TxState>();
function txState(tx: DbOrTx): TxState {
  let s = txStates.get(tx);
  if (!s) txStates.set(tx, (s = { kept: new Map(), pending: new SeriesKeyMap(), unwritten: [] }));
  return s;
}

/**
 * Writes the derived forms of every batch processed in the transaction and not written yet, in
 * ONE statement. Ingest stores every batch of a transaction before the first writer runs, so
 * the first writer call writes them all: before the live log writer takes its append lock (held
 * until commit), and once per transaction rather than once per batch. Batches of the same key
 * count once (the last one written, real-time batches before offline ones, as ingest writes them).
 * Values whose point_data row existed (retries; keys of earlier batches of the transaction, as
 * ingest reports them, see ingest/replaced-keys.ts) have their buckets rebuilt. `leaveInFlight`:
 * inside the ingest write path, which waits for statements left in flight (ingest/pipeline.ts).
 */
async function writeDerived(tx: DbOrTx, st: TxState, leaveInFlight = false): Promise<void> {
  if (!st.unwritten.length) return;
  const all: Derived[] = [];
  for (const realtime of [true, false]) for (const u of st.unwritten) if ((u.channel === 'REALTIME') === realtime) for (const x of u.derived) all.push(x);
  st.unwritten = [];
  if (!all.length) return;
  const statements: SQL[] = [];
  const normalized = normalizedStatement(all.filter((x) => x.normalized).map((x) => x.point));
  if (normalized) statements.push(normalized);
  const rollups = rollupWrites(all, await replacedKeys(tx));
  statements.push(...rollups.append);
  // PERF: without buckets to rebuild (retried values), the writes need no answer before the
  // statements after them: the log append and the COMMIT follow in the same round trip.
  if (leaveInFlight && !rollups.rebuild.length) return writeInFlight(tx, runWrites(tx, statements));
  await runWrites(tx, statements);
  for (const r of rollups.rebuild) await mergePending(tx, r.level, r.buckets);
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
 *   points that keep only their latest value;
 * - a writer (after storage, same transaction): NORMALIZED_1M and rollups.
 */
export function registerPolicyHooks(deps: AppDeps): PolicyRuntime {
  const serviceDefault = parseFormList(deps.config.POLICY_DEFAULT_STORAGE);
  const settings: PolicySettings = { serviceDefault, cacheTtlMs: deps.config.POLICY_CACHE_TTL_MS };
  const cache = createPolicyCache(serviceDefault, deps.config.POLICY_CACHE_TTL_MS);
  // NOTE: not awaited (registration is synchronous); a failure only costs performance.
  void tuneDerivedTables(deps.db).catch((err: unknown) => deps.log.warn({ err }, 'could not set the fillfactor of the rollup and normalized tables'));
  const formsOf = (policies: ReadonlyMap<number, LoadedPolicies>, p: PointRecord): readonly StorageFormSpec[] => policies.get(p.modelId)?.formsByPoint.get(p.pointId) ?? serviceDefault;

  const levelsOf = (policies: ReadonlyMap<number, LoadedPolicies>, p: PointRecord): RollupForm[] => {
    if (!isNumericType(p.dataType)) return [];
    const forms = formsOf(policies, p);
    return ROLLUP_FORMS.filter((f) => hasForm(forms, f));
  };

  deps.ingestPipeline.processors.push(async (tx: DbOrTx, batch: IngestBatch): Promise<IngestBatch> => {
    if (!batch.points.length) return batch;
    const policies = await cache.get(tx, modelIdsOf(batch.points));
    const st = txState(tx);
    // Per batch, what each point's storage policy asks for (a point id belongs to one model).
    const specs = new Map<number, PointSpec>();
    const specOf = (modelId: number, pointId: number): PointSpec => {
      let spec = specs.get(pointId);
      if (!spec) {
        const forms = policies.get(modelId)?.formsByPoint.get(pointId) ?? serviceDefault;
        specs.set(pointId, (spec = { raw: hasForm(forms, 'RAW'), normalized: hasForm(forms, 'NORMALIZED_1M'), rollups: ROLLUP_FORMS.filter((f) => hasForm(forms, f)) }));
      }
      return spec;
    };
    let points = await processPoints(tx, batch.points, policies, st.kept);
    let computed = false;
    for (const pol of policies.values()) if (pol.computed.length) computed = true;
    if (computed) points = await computePoints(tx, points, policies, st.pending);
    const derived: Derived[] = [];
    // PERF: the points are copied only when some of them keep no history.
    let stored = points;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const spec = specOf(p.modelId, p.pointId);
      const levels = typeof p.value === 'number' && isNumericType(p.dataType) ? spec.rollups : [];
      if (levels.length || spec.normalized) derived.push({ point: p, levels, normalized: spec.normalized });
      if (!spec.raw) {
        if (stored === points) stored = [...points];
        stored[i] = { ...p, history: false };
      }
    }
    points = stored;
    st.unwritten.push({ channel: batch.channel, derived });
    const state: PolicyState = { policies };
    stateByPoints.set(points, state);
    const out: WithState = { ...batch, points, [POLICY_STATE]: state };
    return out;
  });

  deps.ingestPipeline.writers.push(async (tx: DbOrTx, batches: readonly IngestBatch[]): Promise<void> => {
    const st = txStates.get(tx);
    if (st) await writeDerived(tx, st, true);
    for (const batch of batches) {
      if (!batch.points.length || (batch as WithState)[POLICY_STATE] || stateByPoints.has(batch.points)) continue;
      // A batch the processor did not see (a writer called without the processors).
      const policies = await cache.get(tx, modelIdsOf(batch.points));
      const derived = batch.points.map((p) => ({ point: p, levels: typeof p.value === 'number' ? levelsOf(policies, p) : [], normalized: hasForm(formsOf(policies, p), 'NORMALIZED_1M') }));
      const alone: TxState = { kept: new Map(), pending: new SeriesKeyMap(), unwritten: [{ channel: batch.channel, derived }] };
      await writeDerived(tx, alone);
    }
  });

  const scheduler = deps.config.SCHEDULER_ENABLED ? startRetentionScheduler(deps.database, { intervalMs: deps.config.RETENTION_INTERVAL_MS, batchRows: deps.config.RETENTION_BATCH_ROWS, serviceDefault, log: deps.log }) : null;
  const merger = startRollupMerger(deps.db, { intervalMs: deps.config.ROLLUP_APPLY_INTERVAL_MS, log: deps.log });
  const stop = async () => {
    await Promise.all([scheduler?.stop(), merger.stop()]);
  };
  const runtime: PolicyRuntime = { cache, settings, scheduler, merger, aggregateRouter: createRollupRouter(cache), stop };
  runtimes.set(deps, runtime);
  return runtime;
}
