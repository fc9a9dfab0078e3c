import { forbidden, notFound, unauthenticated } from '../errors';
import type { Speculation } from './speculation';

/** Permissions a service account can be granted. */
export const PERMISSIONS = ['ASSET_READ', 'ASSET_WRITE', 'REGISTRY_READ', 'REGISTRY_FULL', 'ORG_ADMIN'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** A grant, optionally limited to some products and/or devices (assetIds). */
export interface Grant {
  readonly permission: Permission;
  readonly productKeys?: readonly string[];
  readonly assetIds?: readonly string[];
}

/** Which devices a permission reaches: all of the organisation's, or those listed. */
export type DeviceScope = { readonly all: true } | { readonly all: false; readonly productKeys: readonly string[]; readonly assetIds: readonly string[] };

/** The authenticated caller: a service account of one organisation. */
export interface Caller {
  readonly orgId: string;
  readonly saId: number;
  readonly accessKey: string;
  readonly grants: readonly Grant[];
}

/** Permissions that a grant of `p` also gives. */
const IMPLIES: Readonly<Record<Permission, readonly Permission[]>> = {
  ASSET_READ: ['ASSET_READ'],
  ASSET_WRITE: ['ASSET_WRITE'],
  REGISTRY_READ: ['REGISTRY_READ'],
  REGISTRY_FULL: ['REGISTRY_FULL', 'REGISTRY_READ'],
  ORG_ADMIN: ['ORG_ADMIN'],
};

/**
 * The caller's access, checked first by every operation. Resolvers and routes never take an
 * organisation id from the caller as proof of access: the org comes from here.
 */
export class Access {
  /**
   * @param speculation set when the caller came from the instance's cache and the database is
   *   confirming it while the operation runs: reads may then also take other facts from the cache
   *   (see auth/speculation.ts); the response waits for every confirmation.
   */
  constructor(
    readonly caller: Caller | null,
    readonly speculation: Speculation | null = null,
  ) {}

  /** The caller, or UNAUTHENTICATED. */
  requireCaller(): Caller {
    if (!this.caller) throw unauthenticated();
    return this.caller;
  }

  /** The caller's organisation, after checking it holds `permission` (on some scope). */
  require(permission: Permission): Caller {
    const c = this.requireCaller();
    if (!c.grants.some((g) => IMPLIES[g.permission].includes(permission))) throw forbidden(`missing permission ${permission}`);
    return c;
  }

  /** Whether the caller holds `permission` at all. */
  has(permission: Permission): boolean {
    return !!this.caller?.grants.some((g) => IMPLIES[g.permission].includes(permission));
  }

  /** The devices `permission` reaches (union of the grants that give it). */
  scope(permission: Permission): DeviceScope {
    const c = this.require(permission);
    const grants = c.grants.filter((g) => IMPLIES[g.permission].includes(permission));
    if (grants.some((g) => !g.productKeys?.length && !g.assetIds?.length)) return { all: true };
    return {
      all: false,
      productKeys: [...new Set(grants.flatMap((g) => g.productKeys ?? []))],
      assetIds: [...new Set(grants.flatMap((g) => g.assetIds ?? []))],
    };
  }

  /**
   * Checks that `permission` reaches a device. A device outside a scoped grant is reported as
   * NOT_FOUND when the caller cannot even read it, FORBIDDEN otherwise.
   */
  requireDevice(permission: Permission, device: { readonly assetId: string; readonly productKey: string }): void {
    if (inScope(this.scope(permission), device)) return;
    const readable = (['ASSET_READ', 'REGISTRY_READ'] as const).some((p) => this.has(p) && inScope(this.scope(p), device));
    if (!readable) throw notFound('device', { assetId: device.assetId });
    throw forbidden(`missing permission ${permission} on device ${device.assetId}`);
  }
}

/** Whether a device is inside a scope. */
export function inScope(scope: DeviceScope, device: { readonly assetId: string; readonly productKey: string }): boolean {
  return scope.all || scope.assetIds.includes(device.assetId) || scope.productKeys.includes(device.productKey);
}
