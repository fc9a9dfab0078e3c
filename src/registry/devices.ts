import { and, asc, count, eq, gt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DeviceScope } from '../auth/permissions';
import { AppError, ErrorCode, badInput, notFound, translatePgError } from '../errors';
import { validateValue } from '../model/validate-value';
import type { Db, DbOrTx } from '../storage/db';
import { attributeHistory, attributeValues, devices, eventData, files, latestValues, modelFeatures, pointData, products, thingModels } from '../storage/schema/index';
import { parseInput } from './parse-input';
import { escapeLike, getModelsByIds } from './models';
import { decodeIdCursor, encodeIdCursor, pageSize, toConnection, type Connection, type PageArgs } from './pagination';
import { KEY_RE, generateKey } from './products';

export const DEVICE_STATUSES = ['INACTIVE', 'ONLINE', 'OFFLINE', 'DISABLED'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** A device with the keys of its product and model. */
export interface Device {
  readonly id: number;
  readonly orgId: string;
  readonly assetId: string;
  readonly productId: number;
  readonly productKey: string;
  readonly modelId: number;
  readonly modelIdentifier: string;
  readonly deviceKey: string;
  readonly name: string;
  readonly timezone: string;
  readonly description: string;
  readonly tags: Record<string, string>;
  readonly status: DeviceStatus;
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly measurepointLastUpdate: Date | null;
  readonly attributeLastUpdate: Date | null;
  readonly eventLastUpdate: Date | null;
}

const columns = {
  id: devices.id,
  orgId: devices.orgId,
  assetId: devices.assetId,
  productId: devices.productId,
  productKey: products.productKey,
  modelId: products.modelId,
  modelIdentifier: thingModels.identifier,
  deviceKey: devices.deviceKey,
  name: devices.name,
  timezone: devices.timezone,
  description: devices.description,
  tags: devices.tags,
  rawStatus: devices.status,
  enabled: devices.enabled,
  createdAt: devices.createdAt,
  updatedAt: devices.updatedAt,
  measurepointLastUpdate: devices.measurepointLastUpdate,
  attributeLastUpdate: devices.attributeLastUpdate,
  eventLastUpdate: devices.eventLastUpdate,
};
type Row = { rawStatus: string; enabled: boolean } & Omit<Device, 'status'>;

function toDevice(r: Row): Device {
  const { rawStatus, ...rest } = r;
  return { ...rest, status: r.enabled ? (rawStatus.toUpperCase() as DeviceStatus) : 'DISABLED' };
}

function base(db: DbOrTx) {
  return db.select(columns).from(devices).innerJoin(products, eq(products.id, devices.productId)).innerJoin(thingModels, eq(thingModels.id, products.modelId));
}

/** SQL condition restricting devices to a scope. */
export function scopeCondition(scope: DeviceScope): SQL | undefined {
  if (scope.all) return undefined;
  const parts: SQL[] = [];
  if (scope.assetIds.length) parts.push(sql`${devices.assetId} in ${[...scope.assetIds]}`);
  if (scope.productKeys.length) parts.push(sql`${products.productKey} in ${[...scope.productKeys]}`);
  return parts.length ? sql`(${sql.join(parts, sql` or `)})` : sql`false`;
}

/** A way to name a device: by assetId, or by productKey + deviceKey. */
export interface DeviceRef {
  readonly assetId?: string | null | undefined;
  readonly productKey?: string | null | undefined;
  readonly deviceKey?: string | null | undefined;
}

/** Condition for one reference; BAD_USER_INPUT when it names nothing. */
export function refCondition(ref: DeviceRef): SQL {
  if (ref.assetId) return eq(devices.assetId, ref.assetId);
  if (ref.productKey && ref.deviceKey) return and(eq(products.productKey, ref.productKey), eq(devices.deviceKey, ref.deviceKey))!;
  throw badInput('name a device by assetId, or by productKey and deviceKey');
}

/** One device of the organisation, or NOT_FOUND (also for other organisations' devices). */
export async function getDevice(db: DbOrTx, orgId: string, ref: DeviceRef): Promise<Device> {
  const [r] = await base(db).where(and(eq(devices.orgId, orgId), refCondition(ref)));
  if (!r) throw notFound('device', { ...(ref.assetId ? { assetId: ref.assetId } : { productKey: ref.productKey, deviceKey: ref.deviceKey }) });
  return toDevice(r as Row);
}

/** Devices of the organisation by assetId (missing ones are absent from the result). */
export async function getDevicesByAssetIds(db: DbOrTx, orgId: string, assetIds: readonly string[]): Promise<Device[]> {
  if (!assetIds.length) return [];
  const rows = await base(db).where(and(eq(devices.orgId, orgId), sql`${devices.assetId} in ${[...new Set(assetIds)]}`));
  return rows.map((r) => toDevice(r as Row));
}

/** Devices of the organisation by product and device keys. */
export async function getDevicesByKeys(db: DbOrTx, orgId: string, keys: readonly { productKey: string; deviceKey: string }[]): Promise<Device[]> {
  if (!keys.length) return [];
  const pairs = sql.join(
    keys.map((k) => sql`(${k.productKey}, ${k.deviceKey})`),
    sql`, `,
  );
  const rows = await base(db).where(and(eq(devices.orgId, orgId), sql`(${products.productKey}, ${devices.deviceKey}) in (${pairs})`));
  return rows.map((r) => toDevice(r as Row));
}

/** Filters for {@link listDevices}. */
export interface DeviceFilter {
  readonly modelIdentifier?: string | null | undefined;
  readonly productKey?: string | null | undefined;
  readonly status?: DeviceStatus | null | undefined;
  readonly tag?: { readonly key: string; readonly value?: string | null | undefined } | null | undefined;
  readonly search?: string | null | undefined;
  readonly assetIds?: readonly string[] | null | undefined;
}

/** Builds the WHERE of a device listing (organisation, scope and filters). */
export function deviceConditions(orgId: string, scope: DeviceScope, filter: DeviceFilter): SQL {
  const conds: (SQL | undefined)[] = [eq(devices.orgId, orgId), scopeCondition(scope)];
  if (filter.modelIdentifier) conds.push(eq(thingModels.identifier, filter.modelIdentifier));
  if (filter.productKey) conds.push(eq(products.productKey, filter.productKey));
  if (filter.assetIds) conds.push(filter.assetIds.length ? sql`${devices.assetId} in ${[...filter.assetIds]}` : sql`false`);
  if (filter.status === 'DISABLED') conds.push(eq(devices.enabled, false));
  else if (filter.status) conds.push(and(eq(devices.enabled, true), eq(devices.status, filter.status.toLowerCase())));
  if (filter.tag) {
    conds.push(filter.tag.value != null ? sql`${devices.tags} @> ${JSON.stringify({ [filter.tag.key]: filter.tag.value })}::jsonb` : sql`${devices.tags} ? ${filter.tag.key}`);
  }
  if (filter.search) conds.push(sql`${devices.name} ilike ${`%${escapeLike(filter.search)}%`}`);
  return and(...conds)!;
}

/** Devices of an organisation chosen by names, products and models (lists AND together; empty lists choose all). */
export interface DeviceChoice {
  readonly assetIds?: readonly string[] | null | undefined;
  readonly devices?: readonly { readonly productKey: string; readonly deviceKey: string }[] | null | undefined;
  readonly productKeys?: readonly string[] | null | undefined;
  readonly modelIdentifiers?: readonly string[] | null | undefined;
}

/** Whether the organisation has a device in `choice` that `scope` does not reach. */
export async function hasDeviceOutsideScope(db: DbOrTx, orgId: string, scope: DeviceScope, choice: DeviceChoice): Promise<boolean> {
  if (scope.all) return false;
  const conds: (SQL | undefined)[] = [eq(devices.orgId, orgId), sql`not ${scopeCondition(scope)!}`];
  const named: SQL[] = [];
  if (choice.assetIds?.length) named.push(sql`${devices.assetId} in ${[...choice.assetIds]}`);
  if (choice.devices?.length) named.push(sql`(${products.productKey}, ${devices.deviceKey}) in (${sql.join(choice.devices.map((k) => sql`(${k.productKey}, ${k.deviceKey})`), sql`, `)})`);
  if (named.length) conds.push(sql`(${sql.join(named, sql` or `)})`);
  if (choice.productKeys?.length) conds.push(sql`${products.productKey} in ${[...choice.productKeys]}`);
  if (choice.modelIdentifiers?.length) conds.push(sql`${thingModels.identifier} in ${[...choice.modelIdentifiers]}`);
  const rows = await db
    .select({ id: devices.id })
    .from(devices)
    .innerJoin(products, eq(products.id, devices.productId))
    .innerJoin(thingModels, eq(thingModels.id, products.modelId))
    .where(and(...conds))
    .limit(1);
  return rows.length > 0;
}

/** Lists devices in creation order as a connection. */
export async function listDevices(db: DbOrTx, orgId: string, scope: DeviceScope, filter: DeviceFilter, args: PageArgs, maxPage: number): Promise<Connection<Device>> {
  const limit = pageSize(args, maxPage);
  const where = deviceConditions(orgId, scope, filter);
  const afterId = args.after ? decodeIdCursor('device', args.after) : 0;
  const rows = await base(db).where(and(where, gt(devices.id, afterId))).orderBy(asc(devices.id)).limit(limit + 1);
  const [total] = await db
    .select({ n: count() })
    .from(devices)
    .innerJoin(products, eq(products.id, devices.productId))
    .innerJoin(thingModels, eq(thingModels.id, products.modelId))
    .where(where);
  return toConnection(rows.map((r) => toDevice(r as Row)), limit, (d) => encodeIdCursor('device', d.id), total?.n ?? 0, afterId > 0);
}

/** Timezones: a UTC offset like +08:00, or an IANA zone name. */
export function isValidTimezone(tz: string): boolean {
  if (/^[+-](0\d|1[0-4]):[0-5]\d$/.test(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz.length <= 64;
  } catch {
    return false;
  }
}

const tagsSchema = z.record(z.string().min(1).max(64), z.string().max(256)).refine((t) => Object.keys(t).length <= 100, 'at most 100 tags');
const createSchema = z.object({
  productKey: z.string().min(1),
  deviceKey: z.string().regex(KEY_RE, 'deviceKey must be 4-64 characters of [A-Za-z0-9_.-]').nullish(),
  name: z.string().trim().min(1).max(256),
  timezone: z.string().refine(isValidTimezone, 'timezone must be an offset like +08:00 or an IANA zone').nullish(),
  description: z.string().max(2048).nullish(),
  tags: tagsSchema.nullish(),
  attributes: z.record(z.string(), z.unknown()).nullish(),
});
const updateSchema = createSchema.omit({ productKey: true, deviceKey: true }).partial().extend({ name: z.string().trim().min(1).max(256).nullish() });


/** Validates registry-set attribute values against the model; FILE attributes are set by ingest only. */
async function checkAttributes(db: DbOrTx, modelId: number, attrs: Record<string, unknown>): Promise<{ id: number; value: unknown }[]> {
  const [model] = await getModelsByIds(db, [modelId]);
  const byId = new Map((model?.features ?? []).filter((f) => f.kind === 'ATTRIBUTE').map((f) => [f.identifier, f]));
  const out: { id: number; value: unknown }[] = [];
  for (const [k, v] of Object.entries(attrs)) {
    const f = byId.get(k);
    if (!f?.type) throw new AppError(ErrorCode.MODEL_VIOLATION, `unknown attribute ${k}`, { identifier: k });
    if (f.type.dataType === 'FILE') throw new AppError(ErrorCode.MODEL_VIOLATION, `FILE attribute ${k} can only be set by ingest`, { identifier: k });
    const r = validateValue(f.type, v, k);
    if (!r.ok) throw new AppError(ErrorCode.MODEL_VIOLATION, `attribute ${r.path}: ${r.reason}`, { identifier: k, path: r.path, reason: r.reason });
    out.push({ id: f.id, value: r.value });
  }
  return out;
}

async function writeAttributes(db: DbOrTx, deviceId: number, values: { id: number; value: unknown }[], now: Date): Promise<void> {
  for (const a of values) {
    await db
      .insert(attributeValues)
      .values({ deviceId, attributeId: a.id, value: a.value, updatedAt: now })
      .onConflictDoUpdate({ target: [attributeValues.deviceId, attributeValues.attributeId], set: { value: a.value, updatedAt: now } });
    await db.insert(attributeHistory).values({ time: now, deviceId, attributeId: a.id, value: a.value, source: 'registry' }).onConflictDoUpdate({ target: [attributeHistory.deviceId, attributeHistory.attributeId, attributeHistory.time], set: { value: a.value } });
  }
}

/** Creates a device under one of the organisation's products; assetId is generated. */
export async function createDevice(db: Db, orgId: string, input: unknown): Promise<Device> {
  const p = parseInput(createSchema, input, 'device');
  return db.transaction(async (tx) => {
    const [prod] = await tx.select().from(products).where(and(eq(products.orgId, orgId), eq(products.productKey, p.productKey)));
    if (!prod) throw notFound('product', { productKey: p.productKey });
    const attrs = await checkAttributes(tx, prod.modelId, p.attributes ?? {});
    const deviceKey = p.deviceKey ?? generateKey(12);
    const assetId = generateKey(10);
    let id: number;
    try {
      const [row] = await tx
        .insert(devices)
        .values({ orgId, productId: prod.id, deviceKey, assetId, name: p.name, timezone: p.timezone ?? '+00:00', description: p.description ?? '', tags: p.tags ?? {} })
        .returning({ id: devices.id });
      id = row!.id;
    } catch (e) {
      return translatePgError(e, `device ${p.productKey}/${deviceKey}`);
    }
    await writeAttributes(tx, id, attrs, new Date());
    return getDevice(tx, orgId, { assetId });
  });
}

/** Updates a device's name, timezone, description, tags (replaced) and attributes (merged). */
export async function updateDevice(db: Db, orgId: string, ref: DeviceRef, input: unknown): Promise<Device> {
  const p = parseInput(updateSchema, input, 'device update');
  return db.transaction(async (tx) => {
    const cur = await getDevice(tx, orgId, ref);
    const set: Partial<typeof devices.$inferInsert> = { updatedAt: new Date() };
    if (p.name) set.name = p.name;
    if (p.timezone) set.timezone = p.timezone;
    if (p.description != null) set.description = p.description;
    if (p.tags) set.tags = p.tags;
    if (p.attributes) await writeAttributes(tx, cur.id, await checkAttributes(tx, cur.modelId, p.attributes), new Date());
    await tx.update(devices).set(set).where(eq(devices.id, cur.id));
    return getDevice(tx, orgId, { assetId: cur.assetId });
  });
}

/** Enables or disables a device; a disabled device's data is refused by ingest. */
export async function setDeviceEnabled(db: DbOrTx, orgId: string, ref: DeviceRef, enabled: boolean): Promise<Device> {
  const cur = await getDevice(db, orgId, ref);
  await db.update(devices).set({ enabled, updatedAt: new Date() }).where(eq(devices.id, cur.id));
  return getDevice(db, orgId, { assetId: cur.assetId });
}

/** Deletes a device together with its stored data and files. */
export async function deleteDevice(db: Db, orgId: string, ref: DeviceRef): Promise<boolean> {
  return db.transaction(async (tx) => {
    const cur = await getDevice(tx, orgId, ref);
    for (const t of [pointData, latestValues, eventData, attributeValues, attributeHistory, files]) await tx.delete(t).where(eq(t.deviceId, cur.id));
    await tx.delete(devices).where(eq(devices.id, cur.id));
    return true;
  });
}

/** Current attribute values of devices, keyed by device id then attribute identifier. */
export async function getAttributeValues(db: DbOrTx, deviceIds: readonly number[]): Promise<Map<number, Record<string, { value: unknown; updatedAt: Date }>>> {
  const out = new Map<number, Record<string, { value: unknown; updatedAt: Date }>>();
  if (!deviceIds.length) return out;
  
  const rows = await db
    .select({ deviceId: attributeValues.deviceId, identifier: modelFeatures.identifier, value: attributeValues.value, updatedAt: attributeValues.updatedAt })
    .from(attributeValues)
    .innerJoin(modelFeatures, eq(modelFeatures.id, attributeValues.attributeId))
    .where(sql`${attributeValues.deviceId} in ${[...deviceIds]}`);
  for (const r of rows) {
    const m = out.get(r.deviceId) ?? {};
    m[r.identifier] = { value: r.value, updatedAt: r.updatedAt };
    out.set(r.deviceId, m);
  }
  return out;
}
