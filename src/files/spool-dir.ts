import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config';
import { isProcessAlive } from '../process-alive';

/**
 * The spool directories of REST uploads (one per request, under UPLOAD_TMP_DIR). A request
 * removes its own when it ends; a process killed meanwhile leaves it behind. The name says
 * who made it (`tributary-enos-<host>.<pid>-XXXXXX`), so that leftovers are found without
 * touching what another instance sharing the directory is still using.
 */

const PREFIX = 'tributary-enos-';
const NAME = /^tributary-enos-(?:([A-Za-z0-9_]+)\.(\d+)-)?/;
const hostTag = () => hostname().replace(/[^A-Za-z0-9_]/g, '_') || 'host';

/** Spool directories this process is using now (requests in flight). */
const inUse = new Set<string>();
/** When this process started: a directory named with our pid but older is a former process's. */
const processStartMs = Date.now() - process.uptime() * 1000;

/** The OS temp directory, read when first needed. */
let osTmpDir: string | undefined;

/** The directory REST uploads are spooled under (UPLOAD_TMP_DIR, default the OS temp directory). */
export function spoolRoot(config: Pick<Config, 'UPLOAD_TMP_DIR'>): string {
  // PERF: tmpdir() reads three environment variables on every call.
  return config.UPLOAD_TMP_DIR ?? (osTmpDir ??= tmpdir());
}

/** Creates a request's spool directory under `root`; {@link releaseSpoolDir} when done. */
export async function createSpoolDir(root: string): Promise<string> {
  const dir = await mkdtemp(join(root, `${PREFIX}${hostTag()}.${process.pid}-`));
  inUse.add(dir);
  return dir;
}

/** Removes a request's spool directory. */
export async function releaseSpoolDir(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } finally {
    inUse.delete(dir);
  }
}

/** Newest modification time of a spool directory and its files (a file being written is new). */
async function newestMtimeMs(dir: string): Promise<number> {
  let newest = (await lstat(dir)).mtimeMs;
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const s = await lstat(join(dir, f)).catch(() => undefined);
    if (s && s.mtimeMs > newest) newest = s.mtimeMs;
  }
  return newest;
}

/**
 * Removes spool directories left by dead processes from `root`: on this host, those whose
 * process is gone (or, with our pid, are older than this process: a pid reused after a
 * restart); from another host or of unknown origin, those untouched for `maxAgeMs`. A
 * directory in use by this process is never removed, nor one of a live process on this host.
 * Returns how many were removed.
 */
export async function removeSpoolLeftovers(root: string, maxAgeMs: number, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return 0;
  }
  const host = hostTag();
  let removed = 0;
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    const dir = join(root, name);
    if (inUse.has(dir)) continue;
    try {
      const st = await lstat(dir);
      if (!st.isDirectory()) continue;
      const pid = m[2] ? Number(m[2]) : undefined;
      let stale: boolean;
      if (m[1] === host && pid !== undefined) stale = pid === process.pid ? st.mtimeMs < processStartMs : !isProcessAlive(pid);
      else stale = now - (await newestMtimeMs(dir)) > maxAgeMs;
      if (!stale) continue;
      await rm(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // Gone meanwhile (its request ended), or not ours to remove: left alone.
    }
  }
  return removed;
}
