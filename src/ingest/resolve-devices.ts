import type { Access } from '../auth/permissions';
import { findAppError } from '../errors';
import { getDevicesByAssetIds, getDevicesByKeys, type Device } from '../registry/devices';
import type { DbOrTx } from '../storage/db';
import type { ItemError } from './item-errors';

/** How an item names its device. */
export interface ItemDeviceRef {
  readonly assetId?: string | null | undefined;
  readonly productKey?: string | null | undefined;
  readonly deviceKey?: string | null | undefined;
}

const keyOf = (productKey: string, deviceKey: string) => `${productKey}\u0000${deviceKey}`;

/**
 * Resolves every item's device in two queries, within the caller's organisation, and checks
 * `permission` on each device (scoped grants). Devices are never created. The result holds,
 * per item, the device or the item's error.
 */
export async function resolveDevices(db: DbOrTx, access: Access, orgId: string, refs: readonly ItemDeviceRef[], permission: 'ASSET_WRITE'): Promise<(Device | ItemError)[]> {
  const assetIds = new Set<string>();
  const keys = new Map<string, { productKey: string; deviceKey: string }>();
  for (const r of refs) {
    if (r.assetId) assetIds.add(r.assetId);
    else if (r.productKey && r.deviceKey) keys.set(keyOf(r.productKey, r.deviceKey), { productKey: r.productKey, deviceKey: r.deviceKey });
  }
  const [byAsset, byKey] = await Promise.all([getDevicesByAssetIds(db, orgId, [...assetIds]), getDevicesByKeys(db, orgId, [...keys.values()])]);
  const assetMap = new Map(byAsset.map((d) => [d.assetId, d]));
  const keyMap = new Map(byKey.map((d) => [keyOf(d.productKey, d.deviceKey), d]));
  const checked = new Map<number, ItemError['code'] | null>();
  return refs.map((r, index): Device | ItemError => {
    let device: Device | undefined;
    let name: string;
    if (r.assetId) {
      device = assetMap.get(r.assetId);
      name = `assetId ${r.assetId}`;
    } else if (r.productKey && r.deviceKey) {
      device = keyMap.get(keyOf(r.productKey, r.deviceKey));
      name = `device ${r.productKey}/${r.deviceKey}`;
    } else {
      return { index, identifier: null, code: 'BAD_ITEM', reason: 'name the device by assetId, or by productKey and deviceKey' };
    }
    if (!device) return { index, identifier: null, code: 'DEVICE_NOT_FOUND', reason: `${name} not found` };
    let denied = checked.get(device.id);
    if (denied === undefined) {
      denied = null;
      try {
        access.requireDevice(permission, device);
      } catch (e) {
        const app = findAppError(e);
        if (!app) throw e;
        denied = app.code === 'NOT_FOUND' ? 'DEVICE_NOT_FOUND' : 'FORBIDDEN';
      }
      checked.set(device.id, denied);
    }
    if (denied === 'DEVICE_NOT_FOUND') return { index, identifier: null, code: 'DEVICE_NOT_FOUND', reason: `${name} not found` };
    if (denied) return { index, identifier: null, code: 'FORBIDDEN', reason: `missing permission ${permission} on ${name}` };
    if (!device.enabled) return { index, identifier: null, code: 'DEVICE_DISABLED', reason: `${name} is disabled` };
    return device;
  });
}

/** Type guard for the result of {@link resolveDevices}. */
export function isItemError<T extends object>(x: T | ItemError): x is ItemError {
  return 'code' in x && 'reason' in x;
}
