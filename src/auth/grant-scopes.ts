import { and, eq, sql } from 'drizzle-orm';
import { badInput } from '../errors';
import type { DbOrTx } from '../storage/db';
import { devices, products } from '../storage/schema/index';
import type { Grant } from './permissions';

/**
 * Refuses grants that name products or devices the organisation does not have, listing the
 * unknown keys: a typo would otherwise give a service account a scope that matches nothing.
 * Another organisation's keys count as unknown, so the answer never reveals that they exist.
 */
export async function checkGrantScopes(db: DbOrTx, orgId: string, grants: readonly Grant[]): Promise<void> {
  const productKeys = [...new Set(grants.flatMap((g) => g.productKeys ?? []))];
  const assetIds = [...new Set(grants.flatMap((g) => g.assetIds ?? []))];
  // One array parameter, not one per key: a grant may list up to 10,000 assetIds.
  const foundProducts = new Set(
    productKeys.length ? (await db.select({ key: products.productKey }).from(products).where(and(eq(products.orgId, orgId), sql`${products.productKey} = any(${sql.param(productKeys)}::text[])`))).map((r) => r.key) : [],
  );
  const foundAssets = new Set(
    assetIds.length ? (await db.select({ key: devices.assetId }).from(devices).where(and(eq(devices.orgId, orgId), sql`${devices.assetId} = any(${sql.param(assetIds)}::text[])`))).map((r) => r.key) : [],
  );
  const unknownProductKeys = productKeys.filter((k) => !foundProducts.has(k));
  const unknownAssetIds = assetIds.filter((k) => !foundAssets.has(k));
  if (!unknownProductKeys.length && !unknownAssetIds.length) return;
  const parts = [...(unknownProductKeys.length ? [`productKeys ${unknownProductKeys.join(', ')}`] : []), ...(unknownAssetIds.length ? [`assetIds ${unknownAssetIds.join(', ')}`] : [])];
  throw badInput(`grants name products or devices that do not exist in this organisation: ${parts.join('; ')}`, {
    ...(unknownProductKeys.length ? { unknownProductKeys } : {}),
    ...(unknownAssetIds.length ? { unknownAssetIds } : {}),
  });
}
