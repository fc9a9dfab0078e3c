import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { isProcessAlive } from '../process-alive';

/**
 * One process at a time on an embedded (PGlite) data directory. PGlite keeps the database in
 * memory and writes it back to its directory; a second process on the same directory sees a
 * stale copy, and whichever writes last silently drops the other's changes. So the directory
 * is locked by a file created with O_EXCL next to it, holding who owns it.
 */

/** Who holds a data-directory lock, as written in the lock file. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the holder took the lock. */
  readonly startedAt: string;
  /** The holder's base URL once it listens (`tributary serve`). */
  readonly url?: string;
  /** Random per acquisition, so that a holder removes only its own file. */
  readonly nonce: string;
}

/** A lock this process holds. */
export interface DataDirLock {
  /** The lock file's path. */
  readonly file: string;
  /** Records the URL the holder serves, for the message a second process prints. */
  setUrl(url: string): void;
  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void;
}

/** Raised when another live process holds the lock. */
export class DataDirLockedError extends Error {
  constructor(
    readonly file: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder ? `process ${holder.pid} on ${holder.host} since ${holder.startedAt}${holder.url ? ` serving ${holder.url}` : ''}` : 'another process';
    super(`the embedded database is in use by ${who} (lock file ${file})`);
    this.name = 'DataDirLockedError';
  }
}

/** How old an unreadable (half-written) lock or takeover file must be before it counts as stale. */
const HALF_WRITTEN_STALE_MS = 10_000;

/** Locks held by this process, by file: a lock naming our own pid but not in here is a leftover. */
const heldHere = new Map<string, string>();

function readHolder(file: string): LockHolder | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.nonce === 'string' ? (v as LockHolder) : null;
  } catch {
    return null;
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Stale: its holder was on this host and is gone (or is this very process, which does not hold
 * it: a pid reused after a container restart). A lock from another host is never stale: we
 * cannot see its processes.
 */
function isStale(file: string, holder: LockHolder | null): boolean {
  if (!holder) return ageMs(file) > HALF_WRITTEN_STALE_MS;
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return heldHere.get(file) !== holder.nonce;
  return !isProcessAlive(holder.pid);
}

function writeExclusive(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock. Two processes may find the same stale lock at once: a short-lived
 * takeover file (O_EXCL too) lets only one of them re-check and remove it, so that neither
 * removes the fresh lock the other has just written.
 */
function removeStale(file: string, seen: LockHolder | null): void {
  const takeover = `${file}.takeover`;
  if (!writeExclusive(takeover, String(process.pid))) {
    if (ageMs(takeover) > HALF_WRITTEN_STALE_MS) unlinkQuiet(takeover);
    return;
  }
  try {
    const now = readHolder(file);
    if ((now?.nonce ?? null) === (seen?.nonce ?? null) && isStale(file, now)) unlinkQuiet(file);
  } finally {
    unlinkQuiet(takeover);
  }
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * Takes the lock file `file` for this process, taking over a stale one. Throws
 * {@link DataDirLockedError} when a live process holds it. The lock is released by
 * {@link DataDirLock.release}, and on process exit if still held.
 */
export function acquireDataDirLock(file: string): DataDirLock {
  const holder: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), nonce: randomBytes(12).toString('hex') };
  let current = holder;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (writeExclusive(file, JSON.stringify(holder))) {
      heldHere.set(file, holder.nonce);
      const release = () => {
        if (heldHere.get(file) !== holder.nonce) return;
        heldHere.delete(file);
        process.off('exit', release);
        if (readHolder(file)?.nonce === holder.nonce) unlinkQuiet(file);
      };
      process.on('exit', release);
      return {
        file,
        release,
        setUrl(url) {
          if (heldHere.get(file) !== holder.nonce) return;
          current = { ...current, url };
          // Replaced atomically: the lock file exists at every moment. The URL is only a hint for
          // the message of a second process, so failing to record it is not an error.
          const tmp = `${file}.${holder.nonce}`;
          try {
            unlinkQuiet(tmp);
            if (writeExclusive(tmp, JSON.stringify(current))) renameSync(tmp, file);
          } catch {
            unlinkQuiet(tmp);
          }
        },
      };
    }
    const other = readHolder(file);
    if (!isStale(file, other)) throw new DataDirLockedError(file, other);
    removeStale(file, other);
  }
  throw new DataDirLockedError(file, readHolder(file));
}
