import { and, eq } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import type { Config } from '../config';
import { AppError, conflict, ErrorCode, notFound } from '../errors';
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
  return db.select({ ...columns, state: files.state }).from(files).innerJoin(devices, eq(devices.id, files.deviceId)).innerJoin(products, eq(products.id, devices.productId));
}

/**
 * Life of a file row: `pending` (bytes streaming in with the request) or `reserved` (announced
 * for a presigned upload) until the data referencing it commits; then `committed`, or
 * `awaiting` for an announced file whose PUT has not arrived (`uploading` while it streams);
 * `expired` once its upload link lapsed without an upload (the row stays so that readers
 * learn why the referenced file has no content).
 */
export type FileState = 'pending' | 'reserved' | 'committed' | 'awaiting' | 'uploading' | 'expired';

/** What a reader of a file in `state` gets: nothing when committed, else the error that says why. */
export function fileStateError(state: string, uri: string): AppError | undefined {
  switch (state) {
    case 'committed':
      return undefined;
    case 'awaiting':
    case 'uploading':
      return conflict('file upload pending: the device has not uploaded this file yet', { uri, state: 'UPLOAD_PENDING' });
    case 'expired':
      return new AppError(ErrorCode.GONE, 'file upload expired: the device never uploaded this file', { uri, state: 'UPLOAD_EXPIRED' });
    default:
      return notFound('file', { uri });
  }
}

/**
 * A file of the caller's organisation that `permission` reaches, by URI; when `device` is given
 * the file must belong to it. NOT_FOUND otherwise (also for other orgs). A file announced for
 * a presigned upload is CONFLICT until its bytes arrive and GONE once its link lapsed, unless
 * `anyState` (deletion) asks for the row whatever its state.
 */
export async function findFile(deps: FilesDeps, access: Access, permission: 'ASSET_READ' | 'ASSET_WRITE', uri: string, device?: DeviceRef, anyState = false): Promise<StoredFile> {
  const caller = access.require(permission);
  const [f] = await base(deps.db).where(and(eq(files.orgId, caller.orgId), eq(files.uri, uri)));
  if (!f || f.state === 'pending' || f.state === 'reserved') throw notFound('file', { uri });
  if (device && (device.assetId ? device.assetId !== f.assetId : device.productKey !== f.productKey || device.deviceKey !== f.deviceKey)) throw notFound('file', { uri });
  access.requireDevice(permission, f);
  const stateError = anyState ? undefined : fileStateError(f.state, uri);
  if (stateError) throw stateError;
  return f;
}

/** The file a signed link names (its organisation and device must match), with its state error. */
export async function findLinkedFile(deps: FilesDeps, orgId: string, deviceId: number, fileId: number): Promise<StoredFile> {
  const [f] = await base(deps.db).where(and(eq(files.id, fileId), eq(files.orgId, orgId), eq(files.deviceId, deviceId)));
  if (!f) throw notFound('file');
  const stateError = fileStateError(f.state, f.uri);
  if (stateError) throw stateError;
  return f;
}

/** Deletes a file of a device (ASSET_WRITE): its row, then its content. Stored values keep the URI. */
export async function deleteFile(deps: FilesDeps, access: Access, device: DeviceRef, uri: string): Promise<boolean> {
  const caller = access.require('ASSET_WRITE');
  const d = await getDevice(deps.db, caller.orgId, device);
  access.requireDevice('ASSET_WRITE', d);
  const f = await findFile(deps, access, 'ASSET_WRITE', uri, { assetId: d.assetId }, true);
  await deps.db.delete(files).where(eq(files.id, f.id));
  await storeFor(deps.config, deps.db, f).remove(f);
  return true;
}

/** Bytes `start`..`end` (inclusive) of a file as a stream. */
export function readFileRange(deps: FilesDeps, file: StoredFile, start = 0, end = file.sizeBytes - 1) {
  return storeFor(deps.config, deps.db, file).read(file, start, end);
}
