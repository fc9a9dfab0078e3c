import { and, eq, inArray, lt } from 'drizzle-orm';
import type { Logger } from '../log';
import { files, firmwarePackages } from '../storage/schema/index';
import { storeFor } from './file-store';
import { expireAbandonedUploads } from './presigned-upload';
import type { FilesDeps } from './file-service';
import { removeSpoolLeftovers, spoolRoot } from './spool-dir';

/**
 * Removes `pending` and `reserved` files older than `maxAgeS`: uploads (or announced files)
 * whose request failed or whose process died before the data referencing them committed.
 * Returns how many were removed.
 */
export async function removeStalePendingFiles(deps: FilesDeps, maxAgeS: number): Promise<number> {
  const cutoff = new Date(Date.now() - maxAgeS * 1000);
  const stale = await deps.db
    .delete(files)
    .where(and(inArray(files.state, ['pending', 'reserved']), lt(files.createdAt, cutoff)))
    .returning({ id: files.id, orgId: files.orgId, store: files.store });
  for (const f of stale) await storeFor(deps.config, deps.db, f).remove(f).catch(() => {});
  // Firmware uploads cut short by a crash (their chunks go with the row).
  const staleFirmware = await deps.db
    .delete(firmwarePackages)
    .where(and(eq(firmwarePackages.state, 'pending'), lt(firmwarePackages.createdAt, cutoff)))
    .returning({ id: firmwarePackages.id });
  return stale.length + staleFirmware.length;
}

/**
 * Runs {@link removeStalePendingFiles} and {@link expireAbandonedUploads} every
 * FILE_JANITOR_INTERVAL_MS, and removes the REST spool directories that dead processes left
 * (spool-dir.ts) at start and on the same period; returns a stop function.
 */
export function startFileJanitor(deps: FilesDeps & { readonly log: Logger }): () => void {
  const spool = () =>
    void removeSpoolLeftovers(spoolRoot(deps.config), deps.config.FILE_PENDING_MAX_AGE_S * 1000)
      .then((n) => n && deps.log.info({ removed: n }, 'upload spool leftovers removed'))
      .catch((err: unknown) => deps.log.warn({ err }, 'upload spool cleanup failed'));
  const run = () => {
    spool();
    void removeStalePendingFiles(deps, deps.config.FILE_PENDING_MAX_AGE_S)
      .then((n) => n && deps.log.info({ removed: n }, 'stale pending files removed'))
      .then(() => expireAbandonedUploads(deps))
      .catch((err: unknown) => deps.log.warn({ err }, 'file janitor failed'));
  };
  spool();
  const timer = setInterval(run, deps.config.FILE_JANITOR_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
