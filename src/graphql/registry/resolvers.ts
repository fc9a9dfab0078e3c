import { inScope, type Permission } from '../../auth/permissions';
import type { Device } from '../../registry/devices';
import { createDevice, deleteDevice, getDevice, listDevices, setDeviceEnabled, updateDevice, type DeviceFilter, type DeviceRef } from '../../registry/devices';
import { toModelDocument } from '../../registry/model-input';
import { createModel, deleteModel, getModel, importModel, listModels, updateModel, type ThingModel } from '../../registry/models';
import { createProduct, deleteProduct, getProduct, listProducts, updateProduct, type Product } from '../../registry/products';
import type { PageArgs } from '../../registry/pagination';
import { forbidden } from '../../errors';
import type { GraphQLContext } from '../context';

type Args<T> = T & PageArgs;

const featuresOf = (m: ThingModel, kind: string) =>
  m.features
    .filter((f) => f.kind === kind)
    .map((f) => ({ ...f, signalType: f.signalType ?? 'GENERIC' }));

/** Registry resolvers: parse -> call a service -> map. */
export const registryResolvers = {
  Query: {
    thingModel: (_: unknown, a: { identifier: string }, ctx: GraphQLContext) => getModel(ctx.deps.db, ctx.access.require('REGISTRY_READ').orgId, a.identifier),
    thingModels: (_: unknown, a: Args<{ filter?: { search?: string } | null }>, ctx: GraphQLContext) =>
      listModels(ctx.deps.db, ctx.access.require('REGISTRY_READ').orgId, a.filter ?? {}, a, ctx.deps.config.REGISTRY_PAGE_MAX),
    exportThingModel: async (_: unknown, a: { identifier: string }, ctx: GraphQLContext) => toModelDocument(await getModel(ctx.deps.db, ctx.access.require('REGISTRY_READ').orgId, a.identifier)),
    product: (_: unknown, a: { productKey: string }, ctx: GraphQLContext) => getProduct(ctx.deps.db, ctx.access.require('REGISTRY_READ').orgId, a.productKey),
    products: (_: unknown, a: Args<{ filter?: { modelIdentifier?: string; search?: string } | null }>, ctx: GraphQLContext) =>
      listProducts(ctx.deps.db, ctx.access.require('REGISTRY_READ').orgId, a.filter ?? {}, a, ctx.deps.config.REGISTRY_PAGE_MAX),
    device: async (_: unknown, a: DeviceRef, ctx: GraphQLContext) => {
      const { orgId } = ctx.access.require('REGISTRY_READ');
      const d = await getDevice(ctx.deps.db, orgId, a);
      ctx.access.requireDevice('REGISTRY_READ', d);
      return d;
    },
    devices: (_: unknown, a: Args<{ filter?: DeviceFilter | null }>, ctx: GraphQLContext) => {
      const { orgId } = ctx.access.require('REGISTRY_READ');
      return listDevices(ctx.deps.db, orgId, ctx.access.scope('REGISTRY_READ'), a.filter ?? {}, a, ctx.deps.config.REGISTRY_PAGE_MAX);
    },
  },
  Mutation: {
    createThingModel: (_: unknown, a: { input: unknown }, ctx: GraphQLContext) => createModel(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.input),
    updateThingModel: (_: unknown, a: { identifier: string; input: unknown }, ctx: GraphQLContext) => updateModel(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.identifier, a.input),
    deleteThingModel: (_: unknown, a: { identifier: string }, ctx: GraphQLContext) => deleteModel(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.identifier),
    importThingModel: (_: unknown, a: { document: unknown; replace?: boolean | null }, ctx: GraphQLContext) =>
      importModel(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.document, a.replace ?? false),
    createProduct: (_: unknown, a: { input: unknown }, ctx: GraphQLContext) => createProduct(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.input),
    updateProduct: (_: unknown, a: { productKey: string; input: unknown }, ctx: GraphQLContext) => updateProduct(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.productKey, a.input),
    deleteProduct: (_: unknown, a: { productKey: string }, ctx: GraphQLContext) => deleteProduct(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.productKey),
    createDevice: async (_: unknown, a: { input: { productKey?: string; attributes?: unknown } }, ctx: GraphQLContext) => {
      const { orgId } = ctx.access.require('REGISTRY_FULL');
      const scope = ctx.access.scope('REGISTRY_FULL');
      const productKey = a.input.productKey ?? '';
      if (!scope.all && !scope.productKeys.includes(productKey)) ctx.access.requireDevice('REGISTRY_FULL', { assetId: '', productKey });
      // The device does not exist yet: only a grant on its whole product (or all devices) reaches it.
      if (setsAttributes(a.input)) requireDeviceData(ctx, 'ASSET_WRITE', { assetId: '', productKey });
      return createDevice(ctx.deps.db, orgId, a.input);
    },
    updateDevice: async (_: unknown, a: { device: DeviceRef; input: { attributes?: unknown } }, ctx: GraphQLContext) => {
      const { orgId } = ctx.access.require('REGISTRY_FULL');
      const d = await getDevice(ctx.deps.db, orgId, a.device);
      ctx.access.requireDevice('REGISTRY_FULL', d);
      if (setsAttributes(a.input)) requireDeviceData(ctx, 'ASSET_WRITE', d);
      return updateDevice(ctx.deps.db, orgId, a.device, a.input);
    },
    enableDevice: async (_: unknown, a: { device: DeviceRef }, ctx: GraphQLContext) => setDeviceEnabled(ctx.deps.db, await checkedDevice(ctx, a.device), a.device, true),
    disableDevice: async (_: unknown, a: { device: DeviceRef }, ctx: GraphQLContext) => setDeviceEnabled(ctx.deps.db, await checkedDevice(ctx, a.device), a.device, false),
    deleteDevice: async (_: unknown, a: { device: DeviceRef }, ctx: GraphQLContext) => deleteDevice(ctx.deps.db, await checkedDevice(ctx, a.device), a.device),
  },
  ThingModel: {
    attributes: (m: ThingModel) => featuresOf(m, 'ATTRIBUTE'),
    measurePoints: (m: ThingModel) => featuresOf(m, 'MEASUREPOINT'),
    events: (m: ThingModel) => featuresOf(m, 'EVENT'),
    services: (m: ThingModel) => featuresOf(m, 'SERVICE'),
    document: (m: ThingModel) => toModelDocument(m),
  },
  Product: {
    model: (p: Product, _: unknown, ctx: GraphQLContext) => ctx.loaders.modelById.load(p.modelId),
  },
  Device: {
    product: (d: Device, _: unknown, ctx: GraphQLContext) => ctx.loaders.productById.load(d.productId),
    model: (d: Device, _: unknown, ctx: GraphQLContext) => ctx.loaders.modelById.load(d.modelId),
    attributes: async (d: Device, _: unknown, ctx: GraphQLContext) => {
      requireDeviceData(ctx, 'ASSET_READ', d);
      const m = await ctx.loaders.attributesByDeviceId.load(d.id);
      return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.value]));
    },
  },
};

/** REGISTRY_FULL on the device (NOT_FOUND outside the organisation or the readable scope). */
async function checkedDevice(ctx: GraphQLContext, ref: DeviceRef): Promise<string> {
  const { orgId } = ctx.access.require('REGISTRY_FULL');
  const d = await getDevice(ctx.deps.db, orgId, ref);
  ctx.access.requireDevice('REGISTRY_FULL', d);
  return orgId;
}

/** Whether a device input sets attribute values (device data, written under ASSET_WRITE). */
function setsAttributes(input: { attributes?: unknown } | null | undefined): boolean {
  const attrs = input?.attributes;
  return attrs !== null && attrs !== undefined && (typeof attrs !== 'object' || Object.keys(attrs).length > 0);
}

/**
 * The data rule on a device reached through the registry: its data needs the data API's
 * permission on it (ASSET_READ to read, ASSET_WRITE to write), whatever the registry grants.
 * The caller already sees the device, so a grant that does not reach it is FORBIDDEN.
 */
function requireDeviceData(ctx: GraphQLContext, permission: Extract<Permission, 'ASSET_READ' | 'ASSET_WRITE'>, d: { readonly assetId: string; readonly productKey: string }): void {
  if (!inScope(ctx.access.scope(permission), d)) throw forbidden(d.assetId ? `missing permission ${permission} on device ${d.assetId}` : `missing permission ${permission} on product ${d.productKey}`);
}
