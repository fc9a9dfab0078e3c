import type { Device, DeviceRef } from '../../registry/devices';
import type { AggregateFunction } from '../../query/aggregate-sql';
import { policyRuntime } from '../../policies/hooks';
import { getPointAggregates, type GapFill } from '../../query/aggregates';
import { getAttributeHistory, getAttributeValues } from '../../query/attributes';
import { getEventHistory } from '../../query/events';
import { listDeviceFiles } from '../../query/files';
import { getPointHistory, type SortOrder } from '../../query/history';
import { getLatestValues, getLatestValuesByDevice } from '../../query/latest';
import type { DeviceSelector } from '../../query/selection';
import { inScope } from '../../auth/permissions';
import { liveOf } from '../../live/service';
import { forbidden } from '../../errors';
import type { GraphQLContext } from '../context';

type Page = { first?: number | null; after?: string | null };

/** Items from which a list is handed to GraphQL only after the event loop has had a turn. */
const LONG_LIST = 10_000;

/**
 * A list field's value, after a turn of the event loop when it is long. GraphQL completes each
 * list in one synchronous pass (about 0.1 s per million items); handing the lists of a large
 * aggregate over one by one lets health checks and other requests in between them.
 */
function afterTurn<T>(list: readonly T[]): readonly T[] | Promise<readonly T[]> {
  return list.length < LONG_LIST ? list : new Promise((resolve) => setImmediate(() => resolve(list)));
}

const historyLimits = (ctx: GraphQLContext) => ({ maxPageRows: ctx.deps.config.QUERY_PAGE_MAX_ROWS, maxSeries: ctx.deps.config.QUERY_MAX_SERIES });

/** Query resolvers: parse -> call a service in src/query -> map. All need ASSET_READ. */
export const queryResolvers = {
  Query: {
    latestValues: (_: unknown, a: { devices: DeviceSelector; points?: string[] | null; since?: number | null }, ctx: GraphQLContext) =>
      getLatestValues(ctx.deps.queryDb, ctx.access, ctx.deps.config.QUERY_LATEST_MAX_VALUES, a, ctx.deps.modelCache, liveOf(ctx.deps).latest, ctx.budget),
    latestValuesByDevice: (_: unknown, a: { devices: DeviceSelector; points?: string[] | null; since?: number | null }, ctx: GraphQLContext) =>
      getLatestValuesByDevice(ctx.deps.queryDb, ctx.access, ctx.deps.config.QUERY_LATEST_MAX_VALUES, a, ctx.deps.modelCache, liveOf(ctx.deps).latest, ctx.budget),
    pointHistory: (_: unknown, a: Page & { devices: DeviceSelector; points: string[]; from: number; to: number; order?: SortOrder | null; qualities?: number[] | null }, ctx: GraphQLContext) =>
      getPointHistory(ctx.deps.queryDb, ctx.access, historyLimits(ctx), a, ctx.deps.modelCache, ctx.budget),
    pointAggregates: (
      _: unknown,
      a: { devices: DeviceSelector; aggregates: { point: string; function: AggregateFunction }[]; from: number; to: number; interval: string; timezone?: string | null; fill?: GapFill | null },
      ctx: GraphQLContext,
    ) =>
      getPointAggregates(ctx.deps.queryDb, ctx.deps.database.timescale ? 'timescale' : 'postgres', ctx.access, { maxSeries: ctx.deps.config.QUERY_MAX_SERIES, maxValues: ctx.deps.config.QUERY_MAX_AGGREGATE_VALUES }, a, policyRuntime(ctx.deps).aggregateRouter, ctx.deps.modelCache, ctx.budget),
    attributeValues: (_: unknown, a: { device: DeviceRef; attributes?: string[] | null }, ctx: GraphQLContext) => getAttributeValues(ctx.deps.db, ctx.access, a.device, a.attributes),
    attributeHistory: (_: unknown, a: Page & { device: DeviceRef; attribute: string; from?: number | null; to?: number | null; order?: SortOrder | null }, ctx: GraphQLContext) =>
      getAttributeHistory(ctx.deps.queryDb, ctx.access, ctx.deps.config.QUERY_PAGE_MAX_ROWS, a),
    eventHistory: (_: unknown, a: Page & { devices: DeviceSelector; events?: string[] | null; levels?: string[] | null; from: number; to: number; order?: SortOrder | null }, ctx: GraphQLContext) =>
      getEventHistory(ctx.deps.queryDb, ctx.access, historyLimits(ctx), a, ctx.budget),
    files: (_: unknown, a: Page & { device: DeviceRef }, ctx: GraphQLContext) => listDeviceFiles(ctx.deps.queryDb, ctx.access, ctx.deps.config.QUERY_PAGE_MAX_ROWS, a.device, a),
  },
  DeviceAggregates: {
    times: (d: { times: readonly number[] }) => afterTurn(d.times),
    timesJson: (d: { times: readonly number[] }) => afterTurn(d.times),
  },
  AggregateColumn: {
    values: (c: { values: readonly (number | null)[] }) => afterTurn(c.values),
    valuesJson: (c: { values: readonly (number | null)[] }) => afterTurn(c.values),
  },
  Device: {
    latest: (d: Device, a: { points?: string[] | null }, ctx: GraphQLContext) => {
      // The device was read under REGISTRY_READ; its data needs ASSET_READ on it.
      if (!inScope(ctx.access.scope('ASSET_READ'), d)) throw forbidden(`missing permission ASSET_READ on device ${d.assetId}`);
      return ctx.loaders.latestByDevice.load({ device: d, points: a.points ?? null });
    },
  },
};
