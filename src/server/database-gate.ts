import type { Logger } from '../log';
import { pingDatabase, type Db } from '../storage/db';

/** How often a tripped gate probes the database. */
const PROBE_INTERVAL_MS = 500;

/**
 * Remembers that the database is unreachable. Once a request has failed for that reason, the
 * instance answers the next ones at once with 503 (instead of letting each wait for a connection)
 * and probes the database in the background until it answers again; then it lets requests
 * through as before, without a restart.
 */
export interface DatabaseGate {
  /** True while the database is known to be unreachable. */
  isDown(): boolean;
  /** Records a request that failed because the database was unreachable. */
  trip(): void;
  /** Stops probing. */
  close(): void;
}

/** Runs `select 1` within `timeoutMs`; false on failure or timeout. */
export async function pingWithin(db: Db, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([pingDatabase(db), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates the gate of one instance over `db`. */
export function createDatabaseGate(db: Db, log: Logger): DatabaseGate {
  let down = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const probe = async (): Promise<void> => {
    timer = undefined;
    if (closed) return;
    if (await pingWithin(db, 1_000)) {
      down = false;
      log.info({}, 'database reachable again');
      return;
    }
    if (!closed) timer = setTimeout(() => void probe(), PROBE_INTERVAL_MS).unref();
  };
  return {
    isDown: () => down,
    trip() {
      if (down || closed) return;
      down = true;
      log.warn({}, 'database unreachable; answering 503 until it is back');
      timer = setTimeout(() => void probe(), PROBE_INTERVAL_MS).unref();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
