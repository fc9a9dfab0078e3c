import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import { badInput, notFound } from '../errors';
import { deviceConditions, getDevice, type DeviceRef } from '../registry/devices';
import { toFeature, type Feature } from '../registry/models';
import type { ModelCache } from '../ingest/model-cache';
import { queryRows, type DbOrTx } from '../storage/db';
import { devices, modelFeatures, products, thingModels } from '../storage/schema/index';

/** Which devices a data query reads (see `DeviceSelector` in schema/query.graphql). */
export interface DeviceSelector {
  readonly assetIds?: readonly string[] | null | undefined;
  readonly devices?: readonly DeviceRef[] | null | undefined;
  readonly productKey?: string | null | undefined;
  readonly modelIdentifier?: string | null | undefined;
}

/** A device a query reads: its surrogate id and the keys that name it. */
export interface SelectedDevice {
  readonly id: number;
  readonly assetId: string;
  readonly productKey: string;
  readonly modelId: number;
  /** The model's version read with the device (lets a version-keyed model cache answer its features). */
  readonly modelVersion?: number;
}

/**
 * Resolves a selector to readable devices of the caller's organisation, in request order (named
 * devices) or creation order (selection). A named device that does not exist, belongs to another
 * organisation or is outside the caller's ASSET_READ scope is NOT_FOUND (FORBIDDEN when the
 * caller can read it in the registry but not its data).
 */
export async function selectDevices(db: DbOrTx, access: Access, sel: DeviceSelector): Promise<SelectedDevice[]> {
  const { orgId } = access.require('ASSET_READ');
  const named = (sel.assetIds?.length ?? 0) + (sel.devices?.length ?? 0) > 0;
  const filtered = !!sel.productKey || !!sel.modelIdentifier;
  if (named && filtered) throw badInput('select devices either by name (assetIds, devices) or by productKey/modelIdentifier, not both');
  if (!named && !filtered) throw badInput('select at least one device: assetIds, devices, productKey or modelIdentifier');

  if (filtered) {
    const rows = await db
      .select({ id: devices.id, assetId: devices.assetId, productKey: products.productKey, modelId: products.modelId, modelVersion: thingModels.version })
      .from(devices)
      .innerJoin(products, eq(products.id, devices.productId))
      .innerJoin(thingModels, eq(thingModels.id, products.modelId))
      .where(and(deviceConditions(orgId, access.scope('ASSET_READ'), { productKey: sel.productKey, modelIdentifier: sel.modelIdentifier })))
      .orderBy(asc(devices.id));
    return rows;
  }

  // Named devices, kept in request order: `assetIds` first, then `devices`.
  const refs: ({ assetId: string } | { productKey: string; deviceKey: string })[] = (sel.assetIds ?? []).map((assetId) => ({ assetId }));
  for (const ref of sel.devices ?? []) {
    if (ref.assetId) refs.push({ assetId: ref.assetId });
    else if (ref.productKey && ref.deviceKey) refs.push({ productKey: ref.productKey, deviceKey: ref.deviceKey });
    else throw badInput('name a device by assetId, or by productKey and deviceKey');
  }
  const assetIds = refs.flatMap((r) => ('assetId' in r ? [r.assetId] : []));
  const keys = refs.flatMap((r) => ('assetId' in r ? [] : [r]));
  const found = await findNamedDevicesSpeculatively(db, access, orgId, assetIds, keys);
  const byAsset = new Map(found.map((d) => [d.assetId, d]));
  const byKey = new Map(keys.length ? found.map((d) => [`${d.productKey}\u0000${d.deviceKey}`, d]) : []);
  const out = new Map<number, SelectedDevice>();
  for (const r of refs) {
    const d = 'assetId' in r ? byAsset.get(r.assetId) : byKey.get(`${r.productKey}\u0000${r.deviceKey}`);
    if (!d) throw notFound('device', r);
    access.requireDevice('ASSET_READ', d);
    if (!out.has(d.id)) out.set(d.id, { id: d.id, assetId: d.assetId, productKey: d.productKey, modelId: d.modelId, modelVersion: d.modelVersion });
  }
  return [...out.values()];
}

type NamedDevice = SelectedDevice & { deviceKey: string; modelVersion: number };

/** A device as remembered for speculation: with the organisation's registry epoch read alongside it. */
type DeviceFact = NamedDevice & { registryEpoch: number };

const deviceFactKey = (orgId: string, assetId: string) => `device\u0000${orgId}\u0000${assetId}`;

/**
 * {@link findNamedDevices}, answered from the devices last confirmed when the request speculates
 * (auth/speculation.ts) and every device is named by asset id and remembered at one registry
 * epoch; the database then confirms them all alongside the data query by that one value
 * (`organisations.registry_epoch`, which triggers move on every change to what names a device or
 * fixes its model). Lookups of speculating requests refresh what is remembered; a failed
 * confirmation forgets the devices.
 *
 * PERF: the confirmation reads one row however many devices the query names (comparing the
 * devices themselves cost a thousand-device read several milliseconds of database time).
 */
async function findNamedDevicesSpeculatively(db: DbOrTx, access: Access, orgId: string, assetIds: readonly string[], keys: readonly { productKey: string; deviceKey: string }[]): Promise<NamedDevice[]> {
  const speculation = access.speculation;
  if (!speculation) return findNamedDevices(db, orgId, assetIds, keys);
  const { facts } = speculation;
  const unique = new Set(assetIds);
  const known: DeviceFact[] = [];
  for (const a of keys.length ? [] : unique) {
    const d = facts.get(deviceFactKey(orgId, a)) as DeviceFact | undefined;
    if (!d || (known.length && d.registryEpoch !== known[0]!.registryEpoch)) break;
    known.push(d);
  }
  if (!unique.size || known.length < unique.size) {
    const rows = await findNamedDevices(db, orgId, assetIds, keys);
    for (const d of rows) facts.set(deviceFactKey(orgId, d.assetId), d);
    const found = new Set(rows.map((d) => d.assetId));
    for (const a of assetIds) if (!found.has(a)) facts.delete(deviceFactKey(orgId, a));
    return rows;
  }
  const epoch = known[0]!.registryEpoch;
  speculation.confirm({
    query: sql`select registry_epoch::float8 as e from organisations where id = ${orgId}`,
    check: (rows) => {
      const held = Number(rows[0]?.['e']) === epoch;
      if (!held) for (const d of known) facts.delete(deviceFactKey(orgId, d.assetId));
      return held;
    },
  });
  return known;
}

/**
 * Devices of the organisation by assetId and by (productKey, deviceKey), with only the columns a
 * data query needs, and the organisation's registry epoch read in the same snapshot.
 *
 * PERF: a lean lookup (arrays bound as one parameter each, no timestamp columns to parse) rather
 * than the registry's full device read, since a latest-values call may name thousands of devices.
 */
async function findNamedDevices(db: DbOrTx, orgId: string, assetIds: readonly string[], keys: readonly { productKey: string; deviceKey: string }[]): Promise<DeviceFact[]> {
  if (!assetIds.length && !keys.length) return [];
  const rows = await queryRows<{ id: number; asset_id: string; product_key: string; model_id: number; device_key: string; model_version: number; registry_epoch: number }>(
    db,
    sql`select d.id, d.asset_id, p.product_key, p.model_id, d.device_key, m.version as model_version, o.registry_epoch::float8 as registry_epoch
        from devices d join products p on p.id = d.product_id join thing_models m on m.id = p.model_id join organisations o on o.id = d.org_id
        where d.org_id = ${orgId} and (${sql.join(
          [
            // PERF: only the parts in use, so that the planner probes the asset_id index (an OR with an empty key list scans the organisation's devices).
            ...(assetIds.length ? [sql`d.asset_id = any(${sql.param([...assetIds])}::text[])`] : []),
            ...(keys.length ? [sql`(p.product_key, d.device_key) in (select * from unnest(${sql.param(keys.map((k) => k.productKey))}::text[], ${sql.param(keys.map((k) => k.deviceKey))}::text[]))`] : []),
          ],
          sql` or `,
        )})`,
  );
  return rows.map((r) => ({ id: r.id, assetId: r.asset_id, productKey: r.product_key, modelId: r.model_id, deviceKey: r.device_key, modelVersion: r.model_version, registryEpoch: Number(r.registry_epoch) }));
}

/** One device named by reference, checked for ASSET_READ (NOT_FOUND outside the caller's reach). */
export async function selectDevice(db: DbOrTx, access: Access, ref: DeviceRef): Promise<SelectedDevice> {
  const { orgId } = access.require('ASSET_READ');
  const d = await getDevice(db, orgId, ref);
  access.requireDevice('ASSET_READ', d);
  return { id: d.id, assetId: d.assetId, productKey: d.productKey, modelId: d.modelId };
}

/** Features of one kind of the devices' models, keyed by model id then identifier. */
export type FeatureIndex = ReadonlyMap<number, ReadonlyMap<string, Feature>>;

/** Loads the features of `kind` of the models the devices use. */
export async function loadFeatures(db: DbOrTx, modelIds: Iterable<number>, kind: Feature['kind']): Promise<FeatureIndex> {
  const ids = [...new Set(modelIds)];
  const out = new Map<number, Map<string, Feature>>(ids.map((id) => [id, new Map()]));
  if (!ids.length) return out;
  // PERF: one query on the features alone; data reads do not need the models themselves.
  const rows = await db
    .select()
    .from(modelFeatures)
    .where(and(inArray(modelFeatures.modelId, ids), eq(modelFeatures.kind, kind)))
    .orderBy(asc(modelFeatures.position), asc(modelFeatures.id));
  for (const r of rows) out.get(r.modelId)?.set(r.identifier, toFeature(r));
  return out;
}

/**
 * Features of one kind of the devices' models, from the instance's version-keyed model cache when
 * every device carries its model version (read in the same query as the device, so an updated model
 * is never answered from a stale entry), else from the database.
 *
 * PERF: saves a round trip per data query; a page of history is only a few milliseconds of SQL.
 */
export async function deviceFeatures(db: DbOrTx, devs: readonly SelectedDevice[], kind: 'MEASUREPOINT' | 'ATTRIBUTE' | 'EVENT', cache?: ModelCache): Promise<FeatureIndex> {
  if (!cache) return loadFeatures(db, devs.map((x) => x.modelId), kind);
  const versions = new Map<number, number>();
  for (const d of devs) {
    if (d.modelVersion === undefined) return loadFeatures(db, devs.map((x) => x.modelId), kind);
    versions.set(d.modelId, d.modelVersion);
  }
  const models = await cache.get(db, [...versions].map(([id, version]) => ({ id, version })));
  const out = new Map<number, ReadonlyMap<string, Feature>>();
  for (const id of versions.keys()) {
    const m = models.get(id);
    out.set(id, m ? (kind === 'MEASUREPOINT' ? m.points : kind === 'ATTRIBUTE' ? m.attributes : m.events) : new Map());
  }
  return out;
}

/** One (device, feature) pair a query reads. */
export interface Series {
  readonly device: SelectedDevice;
  readonly feature: Feature;
}

/**
 * Pairs each device with the named features its model defines (all its features of the kind when
 * `identifiers` is null). An identifier that none of the devices' models defines is BAD_USER_INPUT.
 */
export function pairSeries(devs: readonly SelectedDevice[], index: FeatureIndex, identifiers: readonly string[] | null | undefined, what: string): Series[] {
  const out: Series[] = [];
  if (identifiers) {
    const unique = [...new Set(identifiers)];
    if (devs.length) {
      for (const id of unique) if (!devs.some((d) => index.get(d.modelId)?.has(id))) throw badInput(`unknown ${what} ${id}`, { identifier: id });
    }
    for (const d of devs) {
      const feats = index.get(d.modelId);
      for (const id of unique) {
        const f = feats?.get(id);
        if (f) out.push({ device: d, feature: f });
      }
    }
    return out;
  }
  for (const d of devs) for (const f of index.get(d.modelId)?.values() ?? []) out.push({ device: d, feature: f });
  return out;
}

/** Whether a feature's values live in the numeric column (INT, FLOAT, DOUBLE, TIMESTAMP, integer ENUM). */
export function isNumeric(f: Feature): boolean {
  const t = f.type;
  if (!t) return false;
  return ['INT', 'FLOAT', 'DOUBLE', 'TIMESTAMP'].includes(t.dataType) || (t.dataType === 'ENUM' && t.enumType !== 'STRING');
}
