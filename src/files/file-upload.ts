import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { AppError, ErrorCode } from '../errors';
import type { Db } from '../storage/db';
import { files } from '../storage/schema/index';
import { FILE_CHUNK_BYTES, type FileLocation, type FileStore } from './file-store';
import { makeFileUri } from './file-uri';

/** A file as graphql-upload-minimal (or the REST shim) delivers it once its part arrives. */
export interface FileUpload {
  readonly filename: string;
  readonly mimetype: string;
  readonly encoding: string;
  createReadStream(): Readable;
}

/** What the Upload scalar accepts: graphql-upload-minimal's `Upload`, or any object of that shape. */
export interface UploadLike {
  readonly promise: Promise<FileUpload>;
}

/** A file written to the store as `pending`; it becomes `committed` with the data referencing it. */
export interface StagedFile extends FileLocation {
  readonly name: string;
  readonly uri: string;
  readonly fileName: string;
  readonly sizeBytes: number;
  readonly md5: string;
  readonly deviceId: number;
  readonly featureId: number | null;
}

/** What a staged file belongs to. */
export interface StageTarget {
  readonly orgId: string;
  readonly deviceId: number;
  readonly featureId: number | null;
}

/** One uploaded file of a request. */
export interface UploadInput {
  /** The name `local://<name>` references use. */
  readonly name: string;
  readonly file: Promise<FileUpload>;
  readonly md5?: string | null | undefined;
  readonly originalName?: string | null | undefined;
}

/** A file refused for its content (wrong MD5): the items referencing it are refused. */
export class FileRejected extends Error {
  constructor(
    readonly fileName: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Re-chunks a stream into {@link FILE_CHUNK_BYTES} pieces while counting, hashing and enforcing the size limit. */
export async function* measure(stream: Readable, maxBytes: number, acc: { size: number; hash: ReturnType<typeof createHash> }): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  let limited = false;
  stream.once('limit', () => (limited = true));
  for await (const raw of stream) {
    const c = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
    acc.size += c.length;
    if (acc.size > maxBytes) throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `file exceeds UPLOAD_MAX_BYTES (${maxBytes} bytes)`);
    acc.hash.update(c);
    parts.push(c);
    held += c.length;
    while (held >= FILE_CHUNK_BYTES) {
      const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      yield all.subarray(0, FILE_CHUNK_BYTES);
      const rest = all.subarray(FILE_CHUNK_BYTES);
      parts = rest.length ? [rest] : [];
      held = rest.length;
    }
  }
  // graphql-upload-minimal truncates (and ends normally) at its own limit: that is an error too.
  if (limited || (stream as { truncated?: boolean }).truncated) throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `file exceeds UPLOAD_MAX_BYTES (${maxBytes} bytes)`);
  if (held) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * Streams one upload into the store as a `pending` file: never whole in memory; size and MD5
 * computed on the way. A wrong client MD5 throws {@link FileRejected}; any failure removes
 * what was written (the janitor catches what a crash leaves).
 */
export async function stageUpload(db: Db, store: FileStore, maxBytes: number, target: StageTarget, input: UploadInput): Promise<StagedFile> {
  const upload = await input.file.catch((e: unknown) => {
    throw uploadError(e, maxBytes, input.name);
  });
  const originalName = input.originalName || upload.filename || input.name;
  const uri = makeFileUri(input.name);
  const fileName = uri.slice(uri.lastIndexOf('/') + 1);
  const [row] = await db
    .insert(files)
    .values({ orgId: target.orgId, deviceId: target.deviceId, featureId: target.featureId, uri, fileName, originalName: originalName.slice(0, 512), contentType: (upload.mimetype || 'application/octet-stream').slice(0, 128), sizeBytes: 0, md5: '', store: store.kind, state: 'pending' })
    .returning({ id: files.id });
  const loc: FileLocation = { id: row!.id, orgId: target.orgId, store: store.kind };
  const acc = { size: 0, hash: createHash('md5') };
  try {
    const stream = upload.createReadStream();
    try {
      await store.write(loc, measure(stream, maxBytes, acc));
    } finally {
      if (!stream.readableEnded) stream.resume();
    }
    const md5 = acc.hash.digest('hex');
    if (input.md5 && input.md5.toLowerCase() !== md5) throw new FileRejected(input.name, `MD5 mismatch: the client sent ${input.md5}, the content has ${md5}`);
    await db.update(files).set({ sizeBytes: acc.size, md5 }).where(eq(files.id, loc.id));
    return { ...loc, name: input.name, uri, fileName, sizeBytes: acc.size, md5, deviceId: target.deviceId, featureId: target.featureId };
  } catch (e) {
    await discardStaged(db, store, loc);
    throw uploadError(e, maxBytes, input.name);
  }
}

/**
 * Records a file announced for a presigned upload as `reserved`, with the size and MD5 its
 * bytes must have; the commit of the data referencing it makes it `awaiting` (see
 * presigned-upload.ts for the PUT).
 */
export async function reserveAnnounced(db: Db, store: FileStore, target: StageTarget, a: { name: string; sizeBytes: number; md5: string; originalName?: string | null | undefined }): Promise<StagedFile> {
  const uri = makeFileUri(a.name);
  const fileName = uri.slice(uri.lastIndexOf('/') + 1);
  const md5 = a.md5.toLowerCase();
  const [row] = await db
    .insert(files)
    .values({ orgId: target.orgId, deviceId: target.deviceId, featureId: target.featureId, uri, fileName, originalName: (a.originalName || a.name).slice(0, 512), sizeBytes: a.sizeBytes, md5, store: store.kind, state: 'reserved' })
    .returning({ id: files.id });
  return { id: row!.id, orgId: target.orgId, store: store.kind, name: a.name, uri, fileName, sizeBytes: a.sizeBytes, md5, deviceId: target.deviceId, featureId: target.featureId };
}

/** Maps graphql-upload-minimal's HTTP errors (413 limit, 400 missing part, 499 disconnect) to AppErrors. */
function uploadError(e: unknown, maxBytes: number, name: string): unknown {
  if (e instanceof AppError || e instanceof FileRejected) return e;
  const status = (e as { status?: number } | null)?.status;
  if (status === 413) return new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `file ${name} exceeds UPLOAD_MAX_BYTES (${maxBytes} bytes)`);
  if (status === 400) return new AppError(ErrorCode.BAD_USER_INPUT, `file ${name}: ${(e as Error).message}`);
  return e;
}

/** Removes a pending file and its content (best effort; the janitor retries). */
export async function discardStaged(db: Db, store: FileStore, loc: FileLocation): Promise<void> {
  await store.remove(loc).catch(() => {});
  await db
    .delete(files)
    .where(eq(files.id, loc.id))
    .catch(() => {});
}

/** Reads an upload to its end without storing it (an unreferenced part, so that the next part can arrive). */
export async function drainUpload(input: UploadInput): Promise<void> {
  try {
    const upload = await input.file;
    const s = upload.createReadStream();
    for await (const _ of s);
  } catch {
    // NOTE: a part already read, that never arrived or that failed matters only if referenced.
  }
}

/**
 * Reads every part not read yet, in order, discarding it. A refused request must still consume
 * its body: the multipart parser stops at an unread part, and the connection would stall.
 */
export async function drainUploads(inputs: readonly UploadInput[]): Promise<void> {
  for (const input of inputs) await drainUpload(input);
}
