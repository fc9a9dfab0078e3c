import { z } from 'zod';
import { inScope, type Access, type DeviceScope } from '../auth/permissions';
import { badInput, notFound } from '../errors';
import type { Channel } from '../ingest/types';
import { getDevicesByAssetIds, getDevicesByKeys } from '../registry/devices';
import { getModel } from '../registry/models';
import { getProduct } from '../registry/products';
import type { DbOrTx } from '../storage/db';
import type { LiveDevice } from './message';

/** Most entries in one list of a filter. */
export const FILTER_LIST_MAX = 1_000;

const list = <T extends z.ZodType>(item: T) => z.array(item).max(FILTER_LIST_MAX).nullish();

/** The LiveFilter input (GraphQL validates its shape; jobs re-validate the stored form). */
export const liveFilterSchema = z.object({
  assetIds: list(z.string().min(1)),
  devices: list(z.object({ productKey: z.string().min(1), deviceKey: z.string().min(1) })),
  productKeys: list(z.string().min(1)),
  modelIds: list(z.string().min(1)),
  identifiers: list(z.string().min(1)),
  channel: z.enum(['REALTIME', 'OFFLINE']).nullish(),
});
/** A subscription filter as the client gives it. */
export type LiveFilterInput = z.infer<typeof liveFilterSchema>;

/**
 * A filter resolved against the registry. Lists combine with AND across fields and OR within a
 * field; assetIds and devices both name devices, so together they form one device list.
 */
export interface CompiledFilter {
  readonly deviceIds: ReadonlySet<number> | null;
  readonly productKeys: ReadonlySet<string> | null;
  readonly modelIds: ReadonlySet<number> | null;
  readonly identifiers: ReadonlySet<string> | null;
  readonly channel: Channel | null;
  /** What the caller's ASSET_READ grant reaches. */
  readonly scope: DeviceScope;
}

/** Parses a filter; BAD_USER_INPUT with the first problem. */
export function parseFilter(input: unknown): LiveFilterInput {
  const r = liveFilterSchema.safeParse(input ?? {});
  if (!r.success) throw badInput(`invalid filter: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
  return r.data;
}

/**
 * Resolves a filter for the caller (ASSET_READ). A named device, product or model that the
 * organisation does not have, or (for devices) that the grant does not reach, is NOT_FOUND.
 */
export async function compileFilter(db: DbOrTx, access: Access, input: LiveFilterInput): Promise<CompiledFilter> {
  const caller = access.require('ASSET_READ');
  const scope = access.scope('ASSET_READ');
  let deviceIds: Set<number> | null = null;
  if (input.assetIds?.length || input.devices?.length) {
    deviceIds = new Set();
    const byAsset = await getDevicesByAssetIds(db, caller.orgId, input.assetIds ?? []);
    for (const id of input.assetIds ?? []) if (!byAsset.some((d) => d.assetId === id)) throw notFound('device', { assetId: id });
    const byKeys = await getDevicesByKeys(db, caller.orgId, input.devices ?? []);
    for (const k of input.devices ?? []) if (!byKeys.some((d) => d.productKey === k.productKey && d.deviceKey === k.deviceKey)) throw notFound('device', { productKey: k.productKey, deviceKey: k.deviceKey });
    for (const d of [...byAsset, ...byKeys]) {
      access.requireDevice('ASSET_READ', d);
      deviceIds.add(d.id);
    }
  }
  let productKeys: Set<string> | null = null;
  if (input.productKeys?.length) {
    for (const k of input.productKeys) await getProduct(db, caller.orgId, k);
    productKeys = new Set(input.productKeys);
  }
  let modelIds: Set<number> | null = null;
  if (input.modelIds?.length) {
    modelIds = new Set();
    for (const m of input.modelIds) modelIds.add((await getModel(db, caller.orgId, m)).id);
  }
  return {
    deviceIds,
    productKeys,
    modelIds,
    identifiers: input.identifiers?.length ? new Set(input.identifiers) : null,
    channel: input.channel ?? null,
    scope,
  };
}

/** Whether a device passes the filter's device, product and model lists and the grant. */
export function matchesDevice(f: CompiledFilter, d: LiveDevice): boolean {
  if (f.deviceIds && !f.deviceIds.has(d.deviceId)) return false;
  if (f.productKeys && !f.productKeys.has(d.productKey)) return false;
  if (f.modelIds && !f.modelIds.has(d.modelId)) return false;
  return inScope(f.scope, d);
}
