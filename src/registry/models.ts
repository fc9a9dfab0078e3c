import { and, asc, count, eq, gt, ilike, sql } from 'drizzle-orm';
import { badInput, conflict, notFound, translatePgError } from '../errors';
import { sameStorageShape, type Member, type TypeSpec } from '../model/type-spec';
import type { Db, DbOrTx } from '../storage/db';
import { modelFeatures, products, thingModels } from '../storage/schema/index';
import { parseModelDefinition, type EventLevel, type FeatureDef, type ModelDefinition, type SignalType } from './model-input';
import { decodeIdCursor, encodeIdCursor, pageSize, toConnection, type Connection, type PageArgs } from './pagination';

/** A stored feature, with its integer surrogate id. */
export interface Feature extends FeatureDef {
  readonly id: number;
  readonly modelId: number;
}

/** A stored thing model with its features. */
export interface ThingModel extends ModelDefinition {
  readonly id: number;
  readonly orgId: string;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly features: readonly Feature[];
}

type ModelRow = typeof thingModels.$inferSelect;
type FeatureRow = typeof modelFeatures.$inferSelect;

/** Maps a feature row to the domain shape. */
export function toFeature(r: FeatureRow): Feature {
  return {
    id: r.id,
    modelId: r.modelId,
    kind: r.kind as Feature['kind'],
    identifier: r.identifier,
    name: r.name,
    description: r.description,
    type: (r.definition as TypeSpec | null) ?? null,
    unit: r.unit,
    hasQuality: r.hasQuality,
    signalType: r.signalType as SignalType | null,
    level: r.eventLevel as EventLevel | null,
    outputData: (r.outputData as Member[] | null) ?? [],
    inputData: (r.inputData as Member[] | null) ?? [],
    required: r.required,
  };
}

function featureValues(modelId: number, f: FeatureDef, position: number) {
  return {
    modelId,
    kind: f.kind,
    identifier: f.identifier,
    name: f.name,
    description: f.description,
    dataType: f.type?.dataType ?? null,
    definition: f.type,
    unit: f.unit,
    hasQuality: f.hasQuality,
    signalType: f.signalType,
    eventLevel: f.level,
    outputData: f.outputData.length ? f.outputData : null,
    inputData: f.inputData.length ? f.inputData : null,
    required: f.required,
    position,
  };
}

async function withFeatures(db: DbOrTx, rows: readonly ModelRow[]): Promise<ThingModel[]> {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const feats = await db
    .select()
    .from(modelFeatures)
    .where(sql`${modelFeatures.modelId} in ${ids}`)
    .orderBy(asc(modelFeatures.position), asc(modelFeatures.id));
  return rows.map((r) => ({ ...r, features: feats.filter((f) => f.modelId === r.id).map(toFeature) }));
}

/** One model of the organisation by identifier, or NOT_FOUND. */
export async function getModel(db: DbOrTx, orgId: string, identifier: string): Promise<ThingModel> {
  const rows = await db.select().from(thingModels).where(and(eq(thingModels.orgId, orgId), eq(thingModels.identifier, identifier)));
  const [m] = await withFeatures(db, rows);
  if (!m) throw notFound('thing model', { identifier });
  return m;
}

/** Models by internal id (DataLoader batch). */
export async function getModelsByIds(db: DbOrTx, ids: readonly number[]): Promise<ThingModel[]> {
  if (!ids.length) return [];
  return withFeatures(db, await db.select().from(thingModels).where(sql`${thingModels.id} in ${[...ids]}`));
}

/** Filters for {@link listModels}. */
export interface ModelFilter {
  readonly search?: string | null | undefined;
}

/** Lists the organisation's models by creation order, as a connection. */
export async function listModels(db: DbOrTx, orgId: string, filter: ModelFilter, args: PageArgs, maxPage: number): Promise<Connection<ThingModel>> {
  const limit = pageSize(args, maxPage);
  const conds = [eq(thingModels.orgId, orgId)];
  if (filter.search) conds.push(ilike(thingModels.name, `%${escapeLike(filter.search)}%`));
  const where = and(...conds);
  const afterId = args.after ? decodeIdCursor('model', args.after) : 0;
  const rows = await db.select().from(thingModels).where(and(where, gt(thingModels.id, afterId))).orderBy(asc(thingModels.id)).limit(limit + 1);
  const [total] = await db.select({ n: count() }).from(thingModels).where(where);
  return toConnection(await withFeatures(db, rows), limit, (m) => encodeIdCursor('model', m.id), total?.n ?? 0, afterId > 0);
}

/** Escapes LIKE wildcards in user text. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Creates a model from a definition (GraphQL input or imported JSON). */
export async function createModel(db: Db, orgId: string, input: unknown): Promise<ThingModel> {
  const def = parseModelDefinition(input);
  return db.transaction(async (tx) => {
    let row: ModelRow;
    try {
      [row] = (await tx.insert(thingModels).values({ orgId, identifier: def.identifier, name: def.name, description: def.description }).returning()) as [ModelRow];
    } catch (e) {
      return translatePgError(e, `thing model ${def.identifier}`);
    }
    if (def.features.length) await tx.insert(modelFeatures).values(def.features.map((f, i) => featureValues(row.id, f, i)));
    return getModel(tx, orgId, def.identifier);
  });
}

async function productsUsing(db: DbOrTx, modelId: number): Promise<number> {
  const [r] = await db.select({ n: count() }).from(products).where(eq(products.modelId, modelId));
  return r?.n ?? 0;
}

/**
 * Replaces a model's definition. Features keep their ids when kind and identifier match. While
 * products use the model, a change that would break stored data is refused: changing a
 * feature's data type (or its stored shape) or removing a feature.
 */
export async function updateModel(db: Db, orgId: string, identifier: string, input: unknown): Promise<ThingModel> {
  const def = parseModelDefinition(input);
  if (def.identifier !== identifier) throw badInput('a model identifier cannot change', { identifier });
  return db.transaction(async (tx) => {
    const current = await getModel(tx, orgId, identifier);
    const inUse = (await productsUsing(tx, current.id)) > 0;
    const key = (f: { kind: string; identifier: string }) => `${f.kind}:${f.identifier}`;
    const next = new Map(def.features.map((f) => [key(f), f]));
    const problems: string[] = [];
    for (const old of current.features) {
      const f = next.get(key(old));
      if (!f) {
        if (inUse) problems.push(`${old.kind} ${old.identifier} cannot be removed while products use the model`);
        continue;
      }
      if (inUse && old.type && f.type && !sameStorageShape(old.type, f.type)) problems.push(`${old.kind} ${old.identifier} cannot change type from ${old.type.dataType} to ${f.type.dataType} while products use the model`);
      if (inUse && old.hasQuality !== f.hasQuality) problems.push(`${old.kind} ${old.identifier} cannot change hasQuality while products use the model`);
    }
    if (problems.length) throw conflict(`model change would break stored data: ${problems.join('; ')}`, { problems });
    const oldByKey = new Map(current.features.map((f) => [key(f), f]));
    const removed = current.features.filter((f) => !next.has(key(f))).map((f) => f.id);
    if (removed.length) await tx.delete(modelFeatures).where(sql`${modelFeatures.id} in ${removed}`);
    for (const [i, f] of def.features.entries()) {
      const old = oldByKey.get(key(f));
      const values = featureValues(current.id, f, i);
      if (old) await tx.update(modelFeatures).set(values).where(eq(modelFeatures.id, old.id));
      else await tx.insert(modelFeatures).values(values);
    }
    await tx
      .update(thingModels)
      .set({ name: def.name, description: def.description, version: sql`${thingModels.version} + 1`, updatedAt: new Date() })
      .where(eq(thingModels.id, current.id));
    return getModel(tx, orgId, identifier);
  });
}

/** Deletes a model; refused while products use it. */
export async function deleteModel(db: Db, orgId: string, identifier: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const m = await getModel(tx, orgId, identifier);
    const n = await productsUsing(tx, m.id);
    if (n > 0) throw conflict(`thing model ${identifier} is used by ${n} product(s); delete or rebind them first`, { products: n });
    await tx.delete(thingModels).where(eq(thingModels.id, m.id));
    return true;
  });
}

/** Imports a model document: creates it, or with `replace` updates an existing one. */
export async function importModel(db: Db, orgId: string, document: unknown, replace: boolean): Promise<ThingModel> {
  const def = parseModelDefinition(document);
  const [exists] = await db.select({ id: thingModels.id }).from(thingModels).where(and(eq(thingModels.orgId, orgId), eq(thingModels.identifier, def.identifier)));
  if (!exists) return createModel(db, orgId, document);
  if (!replace) throw conflict(`thing model ${def.identifier} already exists (import with replace: true to update it)`);
  return updateModel(db, orgId, def.identifier, document);
}
