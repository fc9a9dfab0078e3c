import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, eq, inArray, lt, or } from 'drizzle-orm';
import { AppError, ErrorCode, badInput, conflict, notFound } from '../errors';
import type { Logger } from '../log';
import { files } from '../storage/schema/index';
import type { FilesDeps } from './file-service';
import { storeFor, type FileLocation } from './file-store';
import { measure } from './file-upload';
import type { FileLinkClaims } from './file-url';

/** What a completed presigned upload stored. */
export interface ReceivedUpload {
  readonly uri: string;
  readonly sizeBytes: number;
  readonly md5: string;
}

/**
 * Receives the bytes of an announced file through its upload link. The link is single-use on
 * every instance: the row moves `awaiting` -> `uploading` in one conditional UPDATE before any
 * byte is stored, so a second PUT (here or elsewhere) finds it taken (CONFLICT), committed
 * (CONFLICT) or expired (GONE). The bytes must have the announced size and MD5; when they do
 * not, or the transfer breaks, what was written is removed and the file is `awaiting` again,
 * so that the device can retry with the same link until it lapses.
 */
export async function receivePresignedUpload(deps: FilesDeps, claims: FileLinkClaims, body: Readable, declaredLength: number | undefined): Promise<ReceivedUpload> {
  const mine = and(eq(files.id, claims.fileId), eq(files.orgId, claims.orgId), eq(files.deviceId, claims.ownerId));
  const [row] = await deps.db
    .update(files)
    .set({ state: 'uploading' })
    .where(and(mine, eq(files.state, 'awaiting')))
    .returning({ id: files.id, orgId: files.orgId, store: files.store, uri: files.uri, sizeBytes: files.sizeBytes, md5: files.md5 });
  if (!row) {
    const [other] = await deps.db.select({ state: files.state }).from(files).where(mine);
    if (other?.state === 'committed') throw conflict('this upload link was already used: the file is stored');
    if (other?.state === 'uploading') throw conflict('an upload through this link is in progress');
    if (other?.state === 'expired') throw new AppError(ErrorCode.GONE, 'file upload expired: the link lapsed before the upload arrived');
    throw notFound('file');
  }
  const loc: FileLocation = { id: row.id, orgId: row.orgId, store: row.store };
  const store = storeFor(deps.config, deps.db, loc);
  const release = async () => {
    await store.remove(loc).catch(() => {});
    await deps.db.update(files).set({ state: 'awaiting' }).where(and(eq(files.id, row.id), eq(files.state, 'uploading')));
  };
  try {
    if (declaredLength !== undefined && declaredLength !== row.sizeBytes) throw badInput(`the body has ${declaredLength} bytes; the file was announced with ${row.sizeBytes}`);
    const acc = { size: 0, hash: createHash('md5') };
    try {
      await store.write(loc, measure(body, row.sizeBytes, acc));
    } catch (e) {
      if (e instanceof AppError && e.code === ErrorCode.PAYLOAD_TOO_LARGE) throw badInput(`the body exceeds the announced size of ${row.sizeBytes} bytes`);
      throw e;
    }
    if (acc.size !== row.sizeBytes) throw badInput(`the body has ${acc.size} bytes; the file was announced with ${row.sizeBytes}`);
    const md5 = acc.hash.digest('hex');
    if (md5 !== row.md5) throw badInput(`MD5 mismatch: the file was announced with ${row.md5}, the body has ${md5}`);
    const [done] = await deps.db.update(files).set({ state: 'committed' }).where(and(eq(files.id, row.id), eq(files.state, 'uploading'))).returning({ id: files.id });
    if (!done) throw new AppError(ErrorCode.GONE, 'file upload expired while the bytes arrived');
    return { uri: row.uri, sizeBytes: row.sizeBytes, md5 };
  } catch (e) {
    await release();
    throw e;
  }
}

/**
 * Marks announced files whose upload never arrived as `expired` and removes any partial
 * content: `awaiting` ones once their link lapsed (FILE_URL_TTL_S after the post, plus a
 * minute for the answer to go out), `uploading` ones stuck past FILE_PENDING_MAX_AGE_S more
 * (the instance receiving them died). The rows stay, so that readers of the data referencing
 * them learn the upload expired (GONE) rather than that nothing was ever posted. Each is
 * logged, since the device maker will ask why a file has no content.
 */
export async function expireAbandonedUploads(deps: FilesDeps & { readonly log: Logger }, nowMs = Date.now()): Promise<number> {
  const ttlMs = (deps.config.FILE_URL_TTL_S + 60) * 1000;
  const awaitingCutoff = new Date(nowMs - ttlMs);
  const uploadingCutoff = new Date(nowMs - ttlMs - deps.config.FILE_PENDING_MAX_AGE_S * 1000);
  const expired = await deps.db
    .update(files)
    .set({ state: 'expired' })
    .where(or(and(eq(files.state, 'awaiting'), lt(files.createdAt, awaitingCutoff)), and(inArray(files.state, ['uploading']), lt(files.createdAt, uploadingCutoff))))
    .returning({ id: files.id, orgId: files.orgId, store: files.store, uri: files.uri, deviceId: files.deviceId });
  for (const f of expired) {
    await storeFor(deps.config, deps.db, f)
      .remove(f)
      .catch(() => {});
    deps.log.info({ orgId: f.orgId, deviceId: f.deviceId, uri: f.uri }, 'presigned file upload expired');
  }
  return expired.length;
}
