import type { DbOrTx } from '../storage/db';
import type { IngestBatch } from './types';

/**
 * Extension points of the ingest write path, so that policies and live subscriptions plug in
 * without ingest knowing them:
 * - `processors` run in order inside the write transaction, before rows are stored and before
 *   subscribers see them (processing policies, computed points); each returns the batch to store.
 * - `writers` run inside the same transaction after the rows are written (the subscription
 *   message log, rollups), so that what they record commits or fails with the data. Each runs
 *   once per transaction with every batch of it, in order (group commit writes several), so that
 *   work the batches share (one log append, one rollup statement) is done once.
 * - `committed` run after the commit (wake-ups such as NOTIFY); they must not throw.
 */
export interface IngestPipeline {
  readonly processors: ((tx: DbOrTx, batch: IngestBatch) => Promise<IngestBatch>)[];
  readonly writers: ((tx: DbOrTx, batches: readonly IngestBatch[]) => Promise<void>)[];
  readonly committed: ((batch: IngestBatch) => void)[];
}

/** An empty pipeline. */
export function createIngestPipeline(): IngestPipeline {
  return { processors: [], writers: [], committed: [] };
}

const inFlight = new WeakMap<object, Promise<unknown>[]>();

/**
 * Leaves a statement of the write transaction in flight instead of waiting for its answer (the
 * storage, a writer's): the statements issued after it (the next writers', the COMMIT) go out at
 * once, and the write path waits for it before the transaction counts as done; if it fails,
 * nothing of the transaction commits.
 */
export function writeInFlight(tx: DbOrTx, written: Promise<unknown>): void {
  written.catch(() => {});
  const list = inFlight.get(tx);
  if (list) list.push(written);
  else inFlight.set(tx, [written]);
}

/** The statements writers left in flight in `tx` ({@link writeInFlight}). */
export function writesInFlight(tx: DbOrTx): readonly Promise<unknown>[] {
  return inFlight.get(tx) ?? [];
}
