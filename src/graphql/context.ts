import DataLoader from 'dataloader';
import type { Access } from '../auth/permissions';
import type { Logger } from '../log';
import { liveOf } from '../live/service';
import { batchLatest, type LatestKey, type LatestSource, type PointValue } from '../query/latest';
import { createOperationBudget, type OperationBudget } from '../query/query-budget';
import { getAttributeValues } from '../registry/devices';
import { getModelsByIds, type ThingModel } from '../registry/models';
import { getProductsByIds, type Product } from '../registry/products';
import type { Transport } from '../metrics/metrics';
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
  /** How the operation arrived: GraphQL (HTTP or WebSocket) or the EnOS REST shim, which runs GraphQL in process. */
  readonly transport: Transport;
  /**
   * What the operation's data fields may still return (QUERY_MAX_RESPONSE_VALUES) and its place in
   * the heavy-query lane; the transport releases it once the result is built.
   */
  readonly budget: OperationBudget;
  /** The WebSocket of a graphql-ws operation (absent over HTTP): lets a stream disconnect a slow subscriber. */
  readonly connection?: { close(code: number, reason: string): void };
}

function byId<T extends { id: number }>(fetch: (ids: readonly number[]) => Promise<T[]>) {
  return new DataLoader<number, T | undefined>(async (ids) => {
    const rows = await fetch(ids);
    const m = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => m.get(id));
  });
}

/**
 * The loaders of one operation, each created on first use.
 *
 * PERF: most operations use none of them; creating four DataLoaders per request is wasted work.
 */
class LazyLoaders implements Loaders {
  #modelById?: Loaders['modelById'];
  #productById?: Loaders['productById'];
  #attributesByDeviceId?: Loaders['attributesByDeviceId'];
  #latestByDevice?: Loaders['latestByDevice'];

  constructor(
    private readonly db: AppDeps['db'],
    /** The caller's organisation and the instance's latest-values cache (a lookup done only for Device.latest). */
    private readonly latest: () => LatestSource | undefined,
  ) {}

  get modelById(): Loaders['modelById'] {
    return (this.#modelById ??= byId((ids) => getModelsByIds(this.db, ids)));
  }

  get productById(): Loaders['productById'] {
    return (this.#productById ??= byId((ids) => getProductsByIds(this.db, ids)));
  }

  get attributesByDeviceId(): Loaders['attributesByDeviceId'] {
    return (this.#attributesByDeviceId ??= new DataLoader(async (ids) => {
      const m = await getAttributeValues(this.db, ids);
      return ids.map((id) => m.get(id) ?? {});
    }));
  }

  get latestByDevice(): Loaders['latestByDevice'] {
    return (this.#latestByDevice ??= new DataLoader((keys) => batchLatest(this.db, keys, this.latest()), { cacheKeyFn: (k) => `${k.device.id}|${k.points ? JSON.stringify(k.points) : '*'}` }));
  }
}

/** Builds the context of one operation (HTTP request, WebSocket operation, or REST shim call). */
export function createContext(deps: AppDeps, access: Access, requestId: string, transport: Transport = 'graphql'): GraphQLContext {
  let log: Logger | undefined;
  return {
    deps,
    access,
    requestId,
    transport,
    budget: createOperationBudget({ maxValues: deps.config.QUERY_MAX_RESPONSE_VALUES, heavyMinValues: deps.config.QUERY_HEAVY_MIN_VALUES }, deps.heavyQueries, access.caller ? `org:${access.caller.orgId}` : 'anonymous'),
    // PERF: created when first used (see app.ts).
    get log() {
      return (log ??= deps.log.child({ requestId, ...(access.caller ? { orgId: access.caller.orgId, sa: access.caller.accessKey } : {}) }));
    },
    loaders: new LazyLoaders(deps.db, () => (access.caller ? { cache: liveOf(deps).latest, orgId: access.caller.orgId } : undefined)),
  };
}
