import { createHash } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import { inScope, type Access, type Permission } from '../auth/permissions';
import { AppError, badInput, ErrorCode, notFound, translatePgError } from '../errors';
import { getDevice, type DeviceRef } from '../registry/devices';
import { getProduct } from '../registry/products';
import { firmwareChunks, firmwarePackages } from '../storage/schema/index';
import type { FilesDeps } from './file-service';
import { createPostgresFileStore, type FileStore } from './file-store';
import { measure, type FileUpload } from './file-upload';
import { makeFileUri } from './file-uri';

/*
 * Firmware packages of a product (OTA). Their bytes always live in PostgreSQL
 * (firmware_chunks): packages are few, and every instance must serve them.
 */

/** A committed firmware package. */
export interface FirmwarePackage {
  readonly id: number;
  readonly orgId: string;
  readonly productId: number;
  readonly productKey: string;
  readonly version: string;
  readonly uri: string;
  readonly fileName: string;
  readonly originalName: string;
  readonly sizeBytes: number;
  readonly md5: string;
  readonly createdAt: Date;
  /** Always `postgres` (see the module note); kept for the download path's file shape. */
  readonly store: string;
}

/** Versions: what firmware version strings look like (semver and vendor styles). */
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/** The store of firmware bytes. */
export function firmwareStore(deps: FilesDeps): FileStore {
  return createPostgresFileStore(deps.db, firmwareChunks);
}

/** The product `productKey` of the caller's organisation, if `permission` reaches it (NOT_FOUND otherwise). */
async function productInScope(deps: FilesDeps, access: Access, permission: Permission, productKey: string) {
  const caller = access.require(permission);
  const product = await getProduct(deps.db, caller.orgId, productKey);
  if (!inScope(access.scope(permission), { assetId: '', productKey })) throw notFound('product', { productKey });
  return product;
}

const columns = {
  id: firmwarePackages.id,
  orgId: firmwarePackages.orgId,
  productId: firmwarePackages.productId,
  version: firmwarePackages.version,
  uri: firmwarePackages.uri,
  fileName: firmwarePackages.fileName,
  originalName: firmwarePackages.originalName,
  sizeBytes: firmwarePackages.sizeBytes,
  md5: firmwarePackages.md5,
  createdAt: firmwarePackages.createdAt,
};

/** One firmware upload. */
export interface FirmwareUpload {
  readonly productKey: string;
  readonly version: string;
  readonly file: Promise<FileUpload>;
  /** Lowercase hex MD5 the bytes must have. */
  readonly md5: string;
}

/**
 * Stores a firmware package for a product (REGISTRY_FULL on it): the bytes stream into the
 * store (at most UPLOAD_MAX_BYTES) and must match `md5`; a version is unique per product
 * (CONFLICT otherwise).
 */
export async function uploadFirmware(deps: FilesDeps, access: Access, input: FirmwareUpload): Promise<FirmwarePackage> {
  const product = await productInScope(deps, access, 'REGISTRY_FULL', input.productKey);
  if (!VERSION_RE.test(input.version)) throw badInput('version must be 1-64 characters from [A-Za-z0-9._+-], starting with a letter or digit');
  if (!/^[0-9a-fA-F]{32}$/.test(input.md5)) throw badInput('md5 must be the 32 hex characters of the MD5 of the package');
  const upload = await input.file;
  const originalName = (upload.filename || `firmware-${input.version}.bin`).slice(0, 512);
  const uri = makeFileUri(originalName);
  let id: number;
  try {
    const [row] = await deps.db
      .insert(firmwarePackages)
      .values({ orgId: product.orgId, productId: product.id, version: input.version, uri, fileName: uri.slice(uri.lastIndexOf('/') + 1), originalName, sizeBytes: 0, md5: '', state: 'pending' })
      .returning({ id: firmwarePackages.id });
    id = row!.id;
  } catch (e) {
    upload.createReadStream().resume();
    translatePgError(e, `firmware ${input.version} of ${input.productKey}`);
  }
  const store = firmwareStore(deps);
  const loc = { id, orgId: product.orgId, store: 'postgres' };
  try {
    const acc = { size: 0, hash: createHash('md5') };
    await store.write(loc, measure(upload.createReadStream(), deps.config.UPLOAD_MAX_BYTES, acc));
    const md5 = acc.hash.digest('hex');
    if (md5 !== input.md5.toLowerCase()) throw badInput(`checksum mismatch: md5 is ${input.md5}, the package has ${md5}`);
    await deps.db.update(firmwarePackages).set({ sizeBytes: acc.size, md5, state: 'committed' }).where(eq(firmwarePackages.id, id));
  } catch (e) {
    await store.remove(loc).catch(() => {});
    await deps.db.delete(firmwarePackages).where(eq(firmwarePackages.id, id));
    if (e instanceof AppError) throw e;
    const status = (e as { status?: number } | null)?.status;
    if (status === 413) throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `the package exceeds UPLOAD_MAX_BYTES (${deps.config.UPLOAD_MAX_BYTES} bytes)`);
    throw e;
  }
  return (await listFirmware(deps, access, input.productKey)).find((f) => f.id === id)!;
}

/** The committed packages of a product, newest first (REGISTRY_READ on it). */
export async function listFirmware(deps: FilesDeps, access: Access, productKey: string): Promise<FirmwarePackage[]> {
  const product = await productInScope(deps, access, 'REGISTRY_READ', productKey);
  const rows = await deps.db
    .select(columns)
    .from(firmwarePackages)
    .where(and(eq(firmwarePackages.productId, product.id), eq(firmwarePackages.state, 'committed')))
    .orderBy(desc(firmwarePackages.createdAt), desc(firmwarePackages.id));
  return rows.map((r) => ({ ...r, productKey, store: 'postgres' }));
}

/** Deletes a package (REGISTRY_FULL on its product); false when the version does not exist. */
export async function deleteFirmware(deps: FilesDeps, access: Access, productKey: string, version: string): Promise<boolean> {
  const product = await productInScope(deps, access, 'REGISTRY_FULL', productKey);
  const gone = await deps.db
    .delete(firmwarePackages)
    .where(and(eq(firmwarePackages.productId, product.id), eq(firmwarePackages.version, version)))
    .returning({ id: firmwarePackages.id });
  return gone.length > 0;
}

/**
 * The package `uri` for a device (ASSET_READ on the device; the package must be of the
 * device's product). NOT_FOUND otherwise, also for other organisations.
 */
export async function findFirmwareForDevice(deps: FilesDeps, access: Access, uri: string, device: DeviceRef): Promise<FirmwarePackage> {
  const caller = access.require('ASSET_READ');
  const d = await getDevice(deps.db, caller.orgId, device);
  access.requireDevice('ASSET_READ', d);
  const [f] = await deps.db
    .select(columns)
    .from(firmwarePackages)
    .where(and(eq(firmwarePackages.orgId, caller.orgId), eq(firmwarePackages.uri, uri), eq(firmwarePackages.productId, d.productId), eq(firmwarePackages.state, 'committed')));
  if (!f) throw notFound('file', { uri });
  return { ...f, productKey: d.productKey, store: 'postgres' };
}

/** The package a signed `ota` link names (organisation and product must match). */
export async function findLinkedFirmware(deps: FilesDeps, orgId: string, productId: number, id: number): Promise<FirmwarePackage> {
  const [f] = await deps.db
    .select(columns)
    .from(firmwarePackages)
    .where(and(eq(firmwarePackages.id, id), eq(firmwarePackages.orgId, orgId), eq(firmwarePackages.productId, productId), eq(firmwarePackages.state, 'committed')));
  if (!f) throw notFound('file');
  return { ...f, productKey: '', store: 'postgres' };
}
