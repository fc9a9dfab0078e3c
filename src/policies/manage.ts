import { and, eq, inArray, sql } from 'drizzle-orm';
import { badInput, notFound } from '../errors';
import { getModel, type ThingModel } from '../registry/models';
import type { Db, DbOrTx } from '../storage/db';
import { computedPoints, processingPolicies, rollupCoverage, storagePolicies, storagePolicyPoints } from '../storage/schema/index';
import { findPoint, parseComputedInput, parseProcessingInput, parseStorageInput } from './input';
import { bumpPolicyRevision, loadModelPolicies, type EffectiveStorage, type LoadedPolicies } from './load';
import { ROLLUP_FORMS, hasForm, type StorageFormSpec } from './types';

/*
 * Saving and deleting policies. Each save validates against the current model, records the
 * model version, bumps the model's policy revision (so every instance's cache reloads within
 * POLICY_CACHE_TTL_MS) and never touches stored data.
 */

/** What the policy services need besides the database. */
export interface PolicySettings {
  /** Storage forms of points whose model has no storage policy. */
  readonly serviceDefault: readonly StorageFormSpec[];
  /** Cache TTL of the instances: new rollups count as complete after twice this. */
  readonly cacheTtlMs: number;
}

/** All policies of a model of the organisation (NOT_FOUND for another organisation's model). */
export async function getModelPolicies(db: DbOrTx, orgId: string, modelIdentifier: string, settings: PolicySettings): Promise<LoadedPolicies> {
  const model = await getModel(db, orgId, modelIdentifier);
  const loaded = (await loadModelPolicies(db, [model.id], settings.serviceDefault)).get(model.id);
  if (!loaded) throw notFound('thing model', { identifier: modelIdentifier });
  return loaded;
}

async function withModel<T>(db: Db, orgId: string, modelIdentifier: string, fn: (tx: DbOrTx, model: ThingModel) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const model = await getModel(tx, orgId, modelIdentifier);
    // NOTE: serialises concurrent policy saves of one model (revision and point groups).
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('tributary.policies'), ${model.id})`);
    const out = await fn(tx, model);
    await bumpPolicyRevision(tx, model.id);
    return out;
  });
}

/** Sets (replaces) the processing policy of one point. */
export async function setProcessingPolicy(db: Db, orgId: string, modelIdentifier: string, pointIdentifier: string, input: unknown): Promise<void> {
  await withModel(db, orgId, modelIdentifier, async (tx, model) => {
    const point = findPoint(model, pointIdentifier);
    const [computed] = await tx.select({ id: computedPoints.pointId }).from(computedPoints).where(eq(computedPoints.pointId, point.id));
    if (computed) throw badInput(`${point.identifier} is a computed point; processing policies apply to reported points`);
    const { steps, keepRaw } = parseProcessingInput(point, input);
    const values = { pointId: point.id, orgId, modelId: model.id, modelVersion: model.version, steps, keepRaw, updatedAt: new Date() };
    await tx.insert(processingPolicies).values(values).onConflictDoUpdate({ target: processingPolicies.pointId, set: values });
  });
}

/** Removes the processing policy of one point; false when it had none. */
export async function deleteProcessingPolicy(db: Db, orgId: string, modelIdentifier: string, pointIdentifier: string): Promise<boolean> {
  return withModel(db, orgId, modelIdentifier, async (tx, model) => {
    const point = findPoint(model, pointIdentifier);
    const rows = await tx.delete(processingPolicies).where(eq(processingPolicies.pointId, point.id)).returning({ id: processingPolicies.pointId });
    return rows.length > 0;
  });
}

/**
 * Sets (creates or replaces) a storage policy: for the listed points, or without points the
 * model's default. A point belongs to one policy of its model.
 */
export async function setStoragePolicy(db: Db, orgId: string, modelIdentifier: string, input: unknown, settings: PolicySettings): Promise<void> {
  await withModel(db, orgId, modelIdentifier, async (tx, model) => {
    const { name, points, forms } = parseStorageInput(model, input);
    const before = await getEffective(tx, model, settings);
    const existing = await tx.select().from(storagePolicies).where(eq(storagePolicies.modelId, model.id));
    const mine = existing.find((p) => p.name === name);
    if (points === null) {
      const other = existing.find((p) => p.isModelDefault && p.name !== name);
      if (other) throw badInput(`model ${model.identifier} already has a default storage policy (${other.name}); update or delete it`);
    } else {
      const taken = await tx
        .select({ pointId: storagePolicyPoints.pointId, policyId: storagePolicyPoints.policyId })
        .from(storagePolicyPoints)
        .where(inArray(storagePolicyPoints.pointId, points.map((p) => p.id)));
      const clash = taken.find((t) => t.policyId !== mine?.id);
      if (clash) {
        const owner = existing.find((p) => p.id === clash.policyId)?.name ?? 'another policy';
        throw badInput(`point ${points.find((p) => p.id === clash.pointId)?.identifier ?? clash.pointId} is already in storage policy ${owner}`);
      }
    }
    const values = { orgId, modelId: model.id, name, isModelDefault: points === null, modelVersion: model.version, forms, updatedAt: new Date() };
    let id: number;
    if (mine) {
      await tx.update(storagePolicies).set(values).where(eq(storagePolicies.id, mine.id));
      await tx.delete(storagePolicyPoints).where(eq(storagePolicyPoints.policyId, mine.id));
      id = mine.id;
    } else {
      const [row] = await tx.insert(storagePolicies).values(values).returning({ id: storagePolicies.id });
      id = row!.id;
    }
    if (points?.length) await tx.insert(storagePolicyPoints).values(points.map((p) => ({ pointId: p.id, policyId: id })));
    await syncRollupCoverage(tx, before, await getEffective(tx, model, settings), settings.cacheTtlMs);
  });
}

/** Deletes a storage policy by name; its points fall back to the model or service default. */
export async function deleteStoragePolicy(db: Db, orgId: string, modelIdentifier: string, name: string, settings: PolicySettings): Promise<boolean> {
  return withModel(db, orgId, modelIdentifier, async (tx, model) => {
    const before = await getEffective(tx, model, settings);
    const rows = await tx.delete(storagePolicies).where(and(eq(storagePolicies.modelId, model.id), eq(storagePolicies.name, name))).returning({ id: storagePolicies.id });
    if (!rows.length) throw notFound('storage policy', { name });
    await syncRollupCoverage(tx, before, await getEffective(tx, model, settings), settings.cacheTtlMs);
    return true;
  });
}

async function getEffective(tx: DbOrTx, model: ThingModel, settings: PolicySettings): Promise<ReadonlyMap<number, EffectiveStorage>> {
  return (await loadModelPolicies(tx, [model.id], settings.serviceDefault)).get(model.id)?.storageByPoint ?? new Map();
}

/**
 * Records since when each point's rollups are complete. A rollup form newly enabled counts from
 * two cache TTLs after the save (every instance maintains it by then); one that stays enabled
 * keeps its start (epoch when it came from the service default); a disabled one is forgotten.
 */
async function syncRollupCoverage(tx: DbOrTx, before: ReadonlyMap<number, EffectiveStorage>, after: ReadonlyMap<number, EffectiveStorage>, cacheTtlMs: number): Promise<void> {
  const since = new Date(Date.now() + 2 * cacheTtlMs);
  for (const [pointId, now] of after) {
    const was = before.get(pointId);
    for (const form of ROLLUP_FORMS) {
      const has = hasForm(now.forms, form);
      const had = hasForm(was?.forms, form);
      if (!has) await tx.delete(rollupCoverage).where(and(eq(rollupCoverage.pointId, pointId), eq(rollupCoverage.form, form)));
      else if (!had) await tx.insert(rollupCoverage).values({ pointId, form, since }).onConflictDoUpdate({ target: [rollupCoverage.pointId, rollupCoverage.form], set: { since } });
      else await tx.insert(rollupCoverage).values({ pointId, form, since: new Date(0) }).onConflictDoNothing();
    }
  }
}

/** Sets (creates or replaces) a computed point. */
export async function setComputedPoint(db: Db, orgId: string, modelIdentifier: string, input: unknown): Promise<void> {
  await withModel(db, orgId, modelIdentifier, async (tx, model) => {
    const rows = await tx.select().from(computedPoints).where(eq(computedPoints.modelId, model.id));
    const def = parseComputedInput(model, input, new Set(rows.map((r) => r.pointId)));
    const readers = await loadModelPolicies(tx, [model.id], []);
    const reader = readers.get(model.id)?.computed.find((c) => c.pointId !== def.point.id && (c.kind === 'EXPRESSION' ? c.inputs.some((i) => i.pointId === def.point.id) : c.sourcePointId === def.point.id));
    if (reader) throw badInput(`${def.point.identifier} is an input of computed point ${reader.point}; it cannot be computed itself`);
    const [processed] = await tx.select({ id: processingPolicies.pointId }).from(processingPolicies).where(eq(processingPolicies.pointId, def.point.id));
    if (processed) throw badInput(`${def.point.identifier} has a processing policy; delete it before computing the point`);
    const values = {
      pointId: def.point.id,
      orgId,
      modelId: model.id,
      modelVersion: model.version,
      kind: def.kind,
      expression: def.kind === 'EXPRESSION' ? def.expression : null,
      sourcePointId: def.kind === 'WINDOW' ? def.source.id : null,
      windowFunction: def.kind === 'WINDOW' ? def.function : null,
      windowS: def.kind === 'WINDOW' ? def.windowS : null,
      updatedAt: new Date(),
    };
    await tx.insert(computedPoints).values(values).onConflictDoUpdate({ target: computedPoints.pointId, set: values });
  });
}

/** Stops computing a point (its stored values stay); false when it was not computed. */
export async function deleteComputedPoint(db: Db, orgId: string, modelIdentifier: string, pointIdentifier: string): Promise<boolean> {
  return withModel(db, orgId, modelIdentifier, async (tx, model) => {
    const point = findPoint(model, pointIdentifier);
    const rows = await tx.delete(computedPoints).where(eq(computedPoints.pointId, point.id)).returning({ id: computedPoints.pointId });
    return rows.length > 0;
  });
}
