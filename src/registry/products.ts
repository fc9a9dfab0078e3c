import { randomBytes } from 'node:crypto';
import { and, asc, count, eq, gt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { conflict, notFound, translatePgError } from '../errors';
import type { Db, DbOrTx } from '../storage/db';
import { devices, products, thingModels } from '../storage/schema/index';
import { parseInput } from './parse-input';
import { escapeLike } from './models';
import { decodeIdCursor, encodeIdCursor, pageSize, toConnection, type Connection, type PageArgs } from './pagination';

/** Product keys: 4-64 of [A-Za-z0-9_.-]. */
export const KEY_RE = /^[A-Za-z0-9_.-]{4,64}$/;
export const DATA_FORMATS = ['JSON', 'CUSTOM'] as const;

/** A product, with the identifier of the model it binds. */
export interface Product {
  readonly id: number;
  readonly orgId: string;
  readonly productKey: string;
  readonly name: string;
  readonly description: string;
  readonly modelId: number;
  readonly modelIdentifier: string;
  readonly dataFormat: (typeof DATA_FORMATS)[number];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Random key of `n` alphanumerics. */
export function generateKey(n: number): string {
  const bytes = randomBytes(n);
  return Array.from(bytes, (b) => ALNUM[b % ALNUM.length]).join('');
}

const createSchema = z.object({
  productKey: z.string().regex(KEY_RE, 'productKey must be 4-64 characters of [A-Za-z0-9_.-]').nullish(),
  name: z.string().trim().min(1).max(256),
  description: z.string().max(2048).nullish(),
  modelIdentifier: z.string().min(1),
  dataFormat: z.enum(DATA_FORMATS).nullish(),
});
const updateSchema = z.object({
  name: z.string().trim().min(1).max(256).nullish(),
  description: z.string().max(2048).nullish(),
  modelIdentifier: z.string().min(1).nullish(),
  dataFormat: z.enum(DATA_FORMATS).nullish(),
});


const columns = {
  id: products.id,
  orgId: products.orgId,
  productKey: products.productKey,
  name: products.name,
  description: products.description,
  modelId: products.modelId,
  modelIdentifier: thingModels.identifier,
  dataFormat: products.dataFormat,
  createdAt: products.createdAt,
  updatedAt: products.updatedAt,
};

function base(db: DbOrTx) {
  return db.select(columns).from(products).innerJoin(thingModels, eq(thingModels.id, products.modelId));
}

/** One product of the organisation, or NOT_FOUND. */
export async function getProduct(db: DbOrTx, orgId: string, productKey: string): Promise<Product> {
  const [p] = await base(db).where(and(eq(products.orgId, orgId), eq(products.productKey, productKey)));
  if (!p) throw notFound('product', { productKey });
  return p as Product;
}

/** Products by id (DataLoader batch). */
export async function getProductsByIds(db: DbOrTx, ids: readonly number[]): Promise<Product[]> {
  if (!ids.length) return [];
  return (await base(db).where(sql`${products.id} in ${[...ids]}`)) as Product[];
}

/** Filters for {@link listProducts}. */
export interface ProductFilter {
  readonly modelIdentifier?: string | null | undefined;
  readonly search?: string | null | undefined;
}

/** Lists the organisation's products as a connection. */
export async function listProducts(db: DbOrTx, orgId: string, filter: ProductFilter, args: PageArgs, maxPage: number): Promise<Connection<Product>> {
  const limit = pageSize(args, maxPage);
  const conds = [eq(products.orgId, orgId)];
  if (filter.modelIdentifier) conds.push(eq(thingModels.identifier, filter.modelIdentifier));
  if (filter.search) conds.push(sql`${products.name} ilike ${`%${escapeLike(filter.search)}%`}`);
  const afterId = args.after ? decodeIdCursor('product', args.after) : 0;
  const rows = await base(db).where(and(...conds, gt(products.id, afterId))).orderBy(asc(products.id)).limit(limit + 1);
  const [total] = await db.select({ n: count() }).from(products).innerJoin(thingModels, eq(thingModels.id, products.modelId)).where(and(...conds));
  return toConnection(rows as Product[], limit, (p) => encodeIdCursor('product', p.id), total?.n ?? 0, afterId > 0);
}

async function modelIdOf(db: DbOrTx, orgId: string, identifier: string): Promise<number> {
  const [m] = await db.select({ id: thingModels.id }).from(thingModels).where(and(eq(thingModels.orgId, orgId), eq(thingModels.identifier, identifier)));
  if (!m) throw notFound('thing model', { identifier });
  return m.id;
}

/** Creates a product bound to one of the organisation's models. */
export async function createProduct(db: DbOrTx, orgId: string, input: unknown): Promise<Product> {
  const p = parseInput(createSchema, input, 'product');
  const modelId = await modelIdOf(db, orgId, p.modelIdentifier);
  const productKey = p.productKey ?? generateKey(10);
  try {
    await db.insert(products).values({ orgId, productKey, name: p.name, description: p.description ?? '', modelId, dataFormat: p.dataFormat ?? 'JSON' });
  } catch (e) {
    translatePgError(e, `product ${productKey}`);
  }
  return getProduct(db, orgId, productKey);
}

async function deviceCount(db: DbOrTx, productId: number): Promise<number> {
  const [r] = await db.select({ n: count() }).from(devices).where(eq(devices.productId, productId));
  return r?.n ?? 0;
}

/** Updates a product; rebinding to another model is refused while it has devices. */
export async function updateProduct(db: Db, orgId: string, productKey: string, input: unknown): Promise<Product> {
  const p = parseInput(updateSchema, input, 'product update');
  return db.transaction(async (tx) => {
    const cur = await getProduct(tx, orgId, productKey);
    const set: Partial<typeof products.$inferInsert> = { updatedAt: new Date() };
    if (p.name) set.name = p.name;
    if (p.description != null) set.description = p.description;
    if (p.dataFormat) set.dataFormat = p.dataFormat;
    if (p.modelIdentifier && p.modelIdentifier !== cur.modelIdentifier) {
      const n = await deviceCount(tx, cur.id);
      if (n > 0) throw conflict(`product ${productKey} has ${n} device(s); its model cannot change`, { devices: n });
      set.modelId = await modelIdOf(tx, orgId, p.modelIdentifier);
    }
    await tx.update(products).set(set).where(eq(products.id, cur.id));
    return getProduct(tx, orgId, productKey);
  });
}

/** Deletes a product; refused while it has devices. */
export async function deleteProduct(db: Db, orgId: string, productKey: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const cur = await getProduct(tx, orgId, productKey);
    const n = await deviceCount(tx, cur.id);
    if (n > 0) throw conflict(`product ${productKey} has ${n} device(s); delete them first`, { devices: n });
    await tx.delete(products).where(eq(products.id, cur.id));
    return true;
  });
}
