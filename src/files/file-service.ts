import { and, eq } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import type { Config } from '../config';
import { notFound } from '../errors';
import { getDevice, type DeviceRef } from '../registry/devices';
import type { Db } from '../storage/db';
import { devices, files, products } from '../storage/schema/index';
import { storeFor } from './file-store';

/*
 * The files service: what GraphQL, the /files download route and the REST shim call. Every
 * function takes the caller's Access; other organisations' files are NOT_FOUND. HTTP range
 * answers are in server/send-file.ts.
 */

/** The services files need (AppDeps provides them). */
export interface FilesDeps {
  readonly config: Config;
  readonly db: Db;
}

/** A committed file with its device. */
export interface StoredFile {
  readonly id: number;
  readonly orgId: string;
  readonly store: string;
  readonly uri: string;
  readonly fileName: string;
  readonly originalName: string;
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly md5: string;
  readonly createdAt: Date;
  readonly deviceId: number;
  readonly featureId: number | null;
  readonly assetId: string;
  readonly productKey: string;
  readonly deviceKey: string;
}

const columns = {
  id: files.id,
  orgId: files.orgId,
  store: files.store,
  uri: files.uri,
  fileName: files.fileName,
  originalName: files.originalName,
  contentType: files.contentType,
  sizeBytes: files.sizeBytes,
  md5: files.md5,
  createdAt: files.createdAt,
  deviceId: files.deviceId,
  featureId: files.featureId,
  assetId: devices.assetId,
  productKey: products.productKey,
  deviceKey: devices.deviceKey,
};

function base(db: Db) {
  return db.select(columns).from(files).innerJoin(devices, eq(devices.id, files.deviceId)).innerJoin(products, eq(products.id, devices.productId));
}

/**
 * A committed file of the caller's organisation that `permission` reaches, by URI; when
 * `device` is given the file must belong to it. NOT_FOUND otherwise (also for other orgs).
 */
export async function findFile(deps: FilesDeps, access: Access, permission: 'ASSET_READ' | 'ASSET_WRITE', uri: string, device?: DeviceRef): Promise<StoredFile> {
  const caller = access.require(permission);
  const [f] = await base(deps.db).where(and(eq(files.orgId, caller.orgId), eq(files.uri, uri), eq(files.state, 'committed')));
  if (!f) throw notFound('file', { uri });
  if (device && (device.assetId ? device.assetId !== f.assetId : device.productKey !== f.productKey || device.deviceKey !== f.deviceKey)) throw notFound('file', { uri });
  access.requireDevice(permission, f);
  return f;
}

/** Deletes a file of a device (ASSET_WRITE): its row, then its content. Stored values keep the URI. */
export async function deleteFile(deps: FilesDeps, access: Access, device: DeviceRef, uri: string): Promise<boolean> {
  const caller = access.require('ASSET_WRITE');
  const d = await getDevice(deps.db, caller.orgId, device);
  access.requireDevice('ASSET_WRITE', d);
  const f = await findFile(deps, access, 'ASSET_WRITE', uri, { assetId: d.assetId });
  await deps.db.delete(files).where(eq(files.id, f.id));
  await storeFor(deps.config, deps.db, f).remove(f);
  return true;
}

/** Bytes `start`..`end` (inclusive) of a file as a stream. */
export function readFileRange(deps: FilesDeps, file: StoredFile, start = 0, end = file.sizeBytes - 1) {
  return storeFor(deps.config, deps.db, file).read(file, start, end);
}
