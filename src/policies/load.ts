import { eq, inArray, sql } from 'drizzle-orm';
import type { Feature } from '../registry/models';
import { toFeature } from '../registry/models';
import type { DbOrTx } from '../storage/db';
import { computedPoints, modelFeatures, modelPolicyState, processingPolicies, storagePolicies, storagePolicyPoints, thingModels } from '../storage/schema/index';
import { compileExpression } from './expression';
import type { ComputedPoint, ModelPolicies, ProcessingPolicy, ProcessingStep, StorageFormSpec, StoragePolicy, StorageSource, WindowFunction } from './types';

/** Current policy revision of each model (0 for a model that never had a policy). */
export async function getPolicyRevisions(db: DbOrTx, modelIds: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>(modelIds.map((id) => [id, 0]));
  if (!modelIds.length) return out;
  const rows = await db.select({ modelId: modelPolicyState.modelId, revision: modelPolicyState.revision }).from(modelPolicyState).where(inArray(modelPolicyState.modelId, [...modelIds]));
  for (const r of rows) out.set(r.modelId, r.revision);
  return out;
}

/** Bumps a model's policy revision (in the saving transaction). */
export async function bumpPolicyRevision(db: DbOrTx, modelId: number): Promise<void> {
  await db
    .insert(modelPolicyState)
    .values({ modelId, revision: 1 })
    .onConflictDoUpdate({ target: modelPolicyState.modelId, set: { revision: sql`${modelPolicyState.revision} + 1`, updatedAt: new Date() } });
}

/** Where a point's storage forms come from, and which policy. */
export interface EffectiveStorage {
  readonly source: StorageSource;
  readonly policyName: string | null;
  readonly forms: readonly StorageFormSpec[];
}

/** Resolves each point's storage: its group, else the model default, else the service default. */
export function resolveStorage(pointIds: readonly number[], policies: readonly StoragePolicy[], serviceDefault: readonly StorageFormSpec[]): Map<number, EffectiveStorage> {
  const byPoint = new Map<number, StoragePolicy>();
  for (const p of policies) for (const id of p.pointIds) byPoint.set(id, p);
  const modelDefault = policies.find((p) => p.points === null);
  return new Map(
    pointIds.map((id): [number, EffectiveStorage] => {
      const p = byPoint.get(id);
      if (p) return [id, { source: 'POINT_GROUP', policyName: p.name, forms: p.forms }];
      if (modelDefault) return [id, { source: 'MODEL_DEFAULT', policyName: modelDefault.name, forms: modelDefault.forms }];
      return [id, { source: 'SERVICE_DEFAULT', policyName: null, forms: serviceDefault }];
    }),
  );
}

/** Everything a model's policies say, with identifiers resolved. */
export interface LoadedPolicies extends ModelPolicies {
  readonly orgId: string;
  readonly identifier: string;
  readonly points: readonly Feature[];
  readonly storageByPoint: ReadonlyMap<number, EffectiveStorage>;
}

/** Loads every policy of the given models (a few queries in all). */
export async function loadModelPolicies(db: DbOrTx, modelIds: readonly number[], serviceDefault: readonly StorageFormSpec[]): Promise<Map<number, LoadedPolicies>> {
  const out = new Map<number, LoadedPolicies>();
  if (!modelIds.length) return out;
  const ids = [...modelIds];
  const [models, feats, revisions, proc, stor, storPoints, comp] = await Promise.all([
    db.select().from(thingModels).where(inArray(thingModels.id, ids)),
    db.select().from(modelFeatures).where(inArray(modelFeatures.modelId, ids)),
    getPolicyRevisions(db, ids),
    db.select().from(processingPolicies).where(inArray(processingPolicies.modelId, ids)),
    db.select().from(storagePolicies).where(inArray(storagePolicies.modelId, ids)),
    db.select({ pointId: storagePolicyPoints.pointId, policyId: storagePolicyPoints.policyId }).from(storagePolicyPoints).innerJoin(storagePolicies, eq(storagePolicies.id, storagePolicyPoints.policyId)).where(inArray(storagePolicies.modelId, ids)),
    db.select().from(computedPoints).where(inArray(computedPoints.modelId, ids)),
  ]);
  const featureById = new Map(feats.map((f) => [f.id, toFeature(f)]));
  const name = (id: number | null) => (id === null ? '' : (featureById.get(id)?.identifier ?? ''));
  for (const m of models) {
    const points = [...featureById.values()].filter((f) => f.modelId === m.id && f.kind === 'MEASUREPOINT');
    const processing = new Map<number, ProcessingPolicy>();
    for (const r of proc.filter((r) => r.modelId === m.id)) {
      processing.set(r.pointId, { pointId: r.pointId, point: name(r.pointId), steps: r.steps as ProcessingStep[], keepRaw: r.keepRaw, modelVersion: r.modelVersion, updatedAt: r.updatedAt });
    }
    const storage: StoragePolicy[] = stor
      .filter((r) => r.modelId === m.id)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => {
        const pointIds = storPoints.filter((p) => p.policyId === r.id).map((p) => p.pointId);
        return { id: r.id, name: r.name, points: r.isModelDefault ? null : pointIds.map(name).sort(), pointIds, forms: r.forms as StorageFormSpec[], modelVersion: r.modelVersion, updatedAt: r.updatedAt };
      });
    const computed: ComputedPoint[] = comp
      .filter((r) => r.modelId === m.id)
      .map((r): ComputedPoint => {
        if (r.kind === 'EXPRESSION') {
          const inputs = compileExpression(r.expression ?? '').identifiers.map((identifier) => ({ identifier, pointId: points.find((p) => p.identifier === identifier)?.id ?? 0 }));
          return { kind: 'EXPRESSION', pointId: r.pointId, point: name(r.pointId), expression: r.expression ?? '', inputs, modelVersion: r.modelVersion, updatedAt: r.updatedAt };
        }
        return { kind: 'WINDOW', pointId: r.pointId, point: name(r.pointId), sourcePointId: r.sourcePointId ?? 0, source: name(r.sourcePointId), function: (r.windowFunction ?? 'AVG') as WindowFunction, windowS: r.windowS ?? 60, modelVersion: r.modelVersion, updatedAt: r.updatedAt };
      });
    const storageByPoint = resolveStorage(
      points.map((p) => p.id),
      storage,
      serviceDefault,
    );
    out.set(m.id, {
      modelId: m.id,
      orgId: m.orgId,
      identifier: m.identifier,
      modelVersion: m.version,
      revision: revisions.get(m.id) ?? 0,
      processing,
      storage,
      formsByPoint: new Map([...storageByPoint].map(([id, s]) => [id, s.forms])),
      storageByPoint,
      computed,
      points,
    });
  }
  return out;
}
