/** What the signed-in service account may do, as its grants say (the server checks again). */

/** A permission a service account can hold (schema/auth.graphql). */
export type Permission = 'ASSET_READ' | 'ASSET_WRITE' | 'REGISTRY_READ' | 'REGISTRY_FULL' | 'ORG_ADMIN';

/** A grant as `me { serviceAccount { grants } }` returns it. */
export interface Grant {
  readonly permission: Permission;
  readonly productKeys: readonly string[] | null;
  readonly assetIds: readonly string[] | null;
}

/** A device or product a permission may be asked about; absent: "anywhere". */
export interface Target {
  readonly productKey?: string;
  readonly assetId?: string;
}

const IMPLIES: Readonly<Record<Permission, readonly Permission[]>> = {
  ASSET_READ: ['ASSET_READ'],
  ASSET_WRITE: ['ASSET_WRITE'],
  REGISTRY_READ: ['REGISTRY_READ'],
  REGISTRY_FULL: ['REGISTRY_FULL', 'REGISTRY_READ'],
  ORG_ADMIN: ['ORG_ADMIN'],
};

function reaches(g: Grant, target: Target | undefined): boolean {
  const scoped = !!g.productKeys?.length || !!g.assetIds?.length;
  if (!scoped) return true;
  if (!target) return true;
  return (!!target.productKey && !!g.productKeys?.includes(target.productKey)) || (!!target.assetId && !!g.assetIds?.includes(target.assetId));
}

/** Whether `grants` give `permission` on `target` (any target when absent). */
export function can(grants: readonly Grant[], permission: Permission, target?: Target): boolean {
  return grants.some((g) => IMPLIES[g.permission].includes(permission) && reaches(g, target));
}

/** Whether `grants` give `permission` on the whole organisation (e.g. creating a product). */
export function canEverywhere(grants: readonly Grant[], permission: Permission): boolean {
  return grants.some((g) => IMPLIES[g.permission].includes(permission) && !g.productKeys?.length && !g.assetIds?.length);
}

/** A grant in words, e.g. "ASSET_READ on products pkInverter". */
export function describeGrant(g: Grant): string {
  const parts: string[] = [];
  if (g.productKeys?.length) parts.push(`products ${g.productKeys.join(', ')}`);
  if (g.assetIds?.length) parts.push(`devices ${g.assetIds.join(', ')}`);
  return parts.length ? `${g.permission} on ${parts.join(' and ')}` : `${g.permission} on the whole organisation`;
}
