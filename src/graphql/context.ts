import DataLoader from 'dataloader';
import type { Access } from '../auth/permissions';
import type { Logger } from '../log';
import { batchLatest, type LatestKey, type PointValue } from '../query/latest';
import { getAttributeValues } from '../registry/devices';
import { getModelsByIds, type ThingModel } from '../registry/models';
import { getProductsByIds, type Product } from '../registry/products';
import type { AppDeps } from '../server/deps';

/** Per-request batch loaders (no N+1 across a list of devices). */
export interface Loaders {
  readonly modelById: DataLoader<number, ThingModel | undefined>;
  readonly productById: DataLoader<number, Product | undefined>;
  readonly attributesByDeviceId: DataLoader<number, Record<string, { value: unknown; updatedAt: Date }>>;
  /** Latest values per (device, points argument), for `Device.latest`. */
  readonly latestByDevice: DataLoader<LatestKey, PointValue[], string>;
}

/** What every resolver receives. */
export interface GraphQLContext {
  readonly deps: AppDeps;
  readonly access: Access;
  readonly requestId: string;
  readonly log: Logger;
  readonly loaders: Loaders;
}

function byId<T extends { id: number }>(fetch: (ids: readonly number[]) => Promise<T[]>) {
  return new DataLoader<number, T | undefined>(async (ids) => {
    const rows = await fetch(ids);
    const m = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => m.get(id));
  });
}

/** Builds the context of one operation (HTTP request, WebSocket operation, or REST shim call). */
export function createContext(deps: AppDeps, access: Access, requestId: string): GraphQLContext {
  const { db } = deps;
  return {
    deps,
    access,
    requestId,
    log: deps.log.child({ requestId, ...(access.caller ? { orgId: access.caller.orgId, sa: access.caller.accessKey } : {}) }),
    loaders: {
      modelById: byId((ids) => getModelsByIds(db, ids)),
      productById: byId((ids) => getProductsByIds(db, ids)),
      attributesByDeviceId: new DataLoader(async (ids) => {
        const m = await getAttributeValues(db, ids);
        return ids.map((id) => m.get(id) ?? {});
      }),
      latestByDevice: new DataLoader((keys) => batchLatest(db, keys), { cacheKeyFn: (k) => `${k.device.id}|${k.points ? JSON.stringify(k.points) : '*'}` }),
    },
  };
}
