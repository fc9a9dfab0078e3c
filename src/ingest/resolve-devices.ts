import { sql } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import { findAppError } from '../errors';
import { queryRows, type DbOrTx } from '../storage/db';
import type { ItemError } from './item-errors';

/** How an item names its device. */
export interface ItemDeviceRef {
  readonly assetId?: string | null | undefined;
  readonly productKey?: string | null | undefined;
  readonly deviceKey?: string | null | undefined;
}

/** What ingest needs of a device: identity, model version, state and last-update times (epoch ms). */
export interface IngestDevice {
  readonly id: number;
  readonly assetId: string;
  readonly productKey: string;
  readonly deviceKey: string;
  readonly modelId: number;
  readonly modelVersion: number;
  readonly enabled: boolean;
  /** inactive | online | offline */
  readonly status: string;
  readonly measurepointLastUpdate: number | null;
  readonly attributeLastUpdate: number | null;
  readonly eventLastUpdate: number | null;
}

const keyOf = (productKey: string, deviceKey: string) => `${productKey}\u0000${deviceKey}`;

const ms = (col: string) => sql.raw(`(extract(epoch from d.${col}) * 1000)::float8`);

/** The organisation's devices named by assetId or by product and device keys, in one query. */
async function fetchDevices(db: DbOrTx, orgId: string, assetIds: readonly string[], keys: readonly { productKey: string; deviceKey: string }[]): Promise<IngestDevice[]> {
  if (!assetIds.length && !keys.length) return [];
  const rows = await queryRows<{ id: number; asset_id: string; product_key: string; device_key: string; model_id: number; version: number; enabled: boolean; status: string; mp: number | null; at: number | null; ev: number | null }>(
    db,
    sql`select d.id, d.asset_id, p.product_key, d.device_key, p.model_id, m.version, d.enabled, d.status,
               ${ms('measurepoint_last_update')} as mp, ${ms('attribute_last_update')} as at, ${ms('event_last_update')} as ev
        from devices d join products p on p.id = d.product_id join thing_models m on m.id = p.model_id
        where d.org_id = ${orgId}
          and (d.asset_id = any(${sql.param([...assetIds])}::text[])
               or (p.product_key, d.device_key) in (select * from unnest(${sql.param(keys.map((k) => k.productKey))}::text[], ${sql.param(keys.map((k) => k.deviceKey))}::text[])))`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    assetId: r.asset_id,
    productKey: r.product_key,
    deviceKey: r.device_key,
    modelId: Number(r.model_id),
    modelVersion: Number(r.version),
    enabled: r.enabled,
    status: r.status,
    measurepointLastUpdate: r.mp === null ? null : Number(r.mp),
    attributeLastUpdate: r.at === null ? null : Number(r.at),
    eventLastUpdate: r.ev === null ? null : Number(r.ev),
  }));
}

/**
 * Resolves every item's device in one query, within the caller's organisation, and checks
 * `permission` on each device (scoped grants). Devices are never created. The result holds,
 * per item, the device or the item's error. `known`: the devices, already at hand (remembered-facts.ts),
 * instead of the query; `onFetched` receives what the query found.
 */
export async function resolveDevices(db: DbOrTx, access: Access, orgId: string, refs: readonly ItemDeviceRef[], permission: 'ASSET_WRITE', known?: readonly IngestDevice[] | null, onFetched?: (found: IngestDevice[]) => void): Promise<(IngestDevice | ItemError)[]> {
  const assetIds = new Set<string>();
  const keys = new Map<string, { productKey: string; deviceKey: string }>();
  for (const r of refs) {
    if (r.assetId) assetIds.add(r.assetId);
    else if (r.productKey && r.deviceKey) keys.set(keyOf(r.productKey, r.deviceKey), { productKey: r.productKey, deviceKey: r.deviceKey });
  }
  let found: readonly IngestDevice[];
  if (known) found = known;
  else {
    const fetched = await fetchDevices(db, orgId, [...assetIds], [...keys.values()]);
    onFetched?.(fetched);
    found = fetched;
  }
  const assetMap = new Map(found.map((d) => [d.assetId, d]));
  const keyMap = new Map(found.map((d) => [keyOf(d.productKey, d.deviceKey), d]));
  const checked = new Map<number, ItemError['code'] | null>();
  return refs.map((r, index): IngestDevice | ItemError => {
    let device: IngestDevice | undefined;
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
    // An item naming its device twice must name one device: checked only once the caller may see
    // the device, so that the answer tells nothing about devices out of reach.
    if (r.assetId && ((r.productKey && r.productKey !== device.productKey) || (r.deviceKey && r.deviceKey !== device.deviceKey))) {
      const keys = [r.productKey && `productKey ${r.productKey}`, r.deviceKey && `deviceKey ${r.deviceKey}`].filter(Boolean).join(' and ');
      return { index, identifier: null, code: 'BAD_ITEM', reason: `${name} and ${keys} name different devices: name the device once, or consistently` };
    }
    if (!device.enabled) return { index, identifier: null, code: 'DEVICE_DISABLED', reason: `${name} is disabled` };
    return device;
  });
}

/** Type guard for results that may be an item error. */
export function isItemError<T extends object>(x: T | ItemError): x is ItemError {
  return 'code' in x && 'reason' in x;
}
