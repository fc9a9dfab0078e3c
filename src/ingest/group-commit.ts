import { inArray, sql } from 'drizzle-orm';
import type { Logger } from '../log';
import { concatLists } from '../lists';
import type { DbOrTx } from '../storage/db';
import { allowCommitBehind, type WriteTransaction } from '../storage/pipelined-transaction';
import { files as filesTable } from '../storage/schema/index';
import { writeBatch } from './bulk-write';
import { assertable, assertFacts, confirmFacts, StaleFacts, type WriteFacts } from './remembered-facts';
import { writeInFlight, writesInFlight, type IngestPipeline } from './pipeline';
import type { IngestBatch } from './types';

/** Writes validated batches durably; resolves only after the commit. */
export interface BatchWriter {
  /**
   * Stores `batch` (processors, bulk write, files committed, writers) and resolves with the stored
   * (processed) batch after commit. `facts`: what the call took from memory (devices, the caller),
   * confirmed in the transaction before it commits, for all its batches in one
   * statement; when one no longer holds, the call fails with StaleDevices or StaleCaller
   * (remembered-facts.ts) and nothing of it is stored.
   */
  write(batch: IngestBatch, touch: ReadonlySet<number>, facts?: WriteFacts): Promise<IngestBatch>;
  /** Batches waiting for a transaction, and transactions running (for the metrics). */
  stats(): BatchWriterStats;
}

/** See {@link BatchWriter.stats}. */
export interface BatchWriterStats {
  readonly queued: number;
  readonly running: number;
}

/** Options of {@link createBatchWriter}. */
export interface BatchWriterOptions {
  /** Coalesce queued batches into shared transactions (group commit). */
  readonly groupCommit: boolean;
  /** Transactions in flight at once; batches arriving beyond that queue and are written together. */
  readonly maxParallel: number;
  /** Largest number of values merged into one transaction. */
  readonly maxValues: number;
  /**
   * Fewest values a running transaction must carry for another to start beside it (up to
   * `maxParallel`); while a smaller one runs, arriving batches wait and share the next one.
   * Default {@link OVERLAP_MIN_VALUES}.
   */
  readonly overlapMinValues?: number;
}

/**
 * See {@link BatchWriterOptions.overlapMinValues}. PERF: a small transaction is mostly fixed
 * cost (a round trip, a commit): one at a time, shared by every call that arrives meanwhile,
 * serves small calls best; transactions of large batches are mostly database work, which two
 * in flight spread over the database's cores.
 */
export const OVERLAP_MIN_VALUES = 500;

interface Job {
  readonly batch: IngestBatch;
  readonly touch: ReadonlySet<number>;
  /** Every device the batch writes (its rows in latest_values, devices and the rollups). */
  readonly devices: ReadonlySet<number>;
  readonly facts: WriteFacts | undefined;
  /** Set once the job was answered (a failed confirmation answers it before its transaction ends). */
  settled: boolean;
  resolve(b: IngestBatch): void;
  reject(e: unknown): void;
}

const sizeOf = (b: IngestBatch) => b.points.length + b.events.length + b.attributes.length;

function devicesOf(b: IngestBatch): Set<number> {
  const out = new Set<number>();
  for (const list of [b.points, b.events, b.attributes, b.files]) for (const r of list) out.add(r.deviceId);
  return out;
}

/** Raised in a shared transaction whose confirmation failed a job: nothing of it commits, and the other jobs run again. */
class StaleJobs extends Error {
  constructor() {
    super('a remembered fact of a batch changed');
  }
}

/**
 * Confirms what the jobs took from memory in one statement; fails the jobs whose facts changed
 * (nothing of theirs commits) and returns whether every job held.
 */
async function confirmJobs(tx: DbOrTx, jobs: readonly Job[]): Promise<boolean> {
  if (!jobs.some((j) => j.facts)) return true;
  const outcomes = await confirmFacts(tx, jobs.map((j) => j.facts ?? {}));
  let held = true;
  jobs.forEach((j, k) => {
    const stale = outcomes[k];
    if (!stale) return;
    held = false;
    j.settled = true;
    j.reject(stale);
  });
  return held;
}

/**
 * How a transaction confirms what its jobs took from memory (remembered-facts.ts):
 * - `assert`: the server asserts the facts in the transaction's first statement
 *   ({@link assertFacts}), so nothing waits for an answer and the COMMIT travels with the writes:
 *   one round trip. A changed fact fails the whole transaction ({@link StaleFacts}), and flush()
 *   runs its jobs again, confirming.
 * - `confirm`: the facts are read back with the first writes and checked before the last writer
 *   (two round trips); only the jobs whose facts changed fail.
 */
type Confirm = 'assert' | 'confirm';

/**
 * Runs the pipeline and the storage of several batches in one transaction; their stored batches.
 * PERF: no statement waits for another's answer unless it needs it: the storage statements are
 * sent behind the confirmation and left in flight (pipeline.ts), and the writers go on at once (a
 * writer that needs what the storage replaced waits for it, see replaced-keys.ts); the last writer may send the COMMIT right
 * behind its statement (storage/pipelined-transaction.ts).
 */
async function writeJobs(tx: DbOrTx, pipeline: IngestPipeline, jobs: readonly Job[], confirm: Confirm): Promise<IngestBatch[]> {
  const confirmed = confirm === 'assert' ? assertFacts(tx, jobs.map((j) => j.facts)).then(() => true) : confirmJobs(tx, jobs);
  confirmed.catch(() => {});
  try {
    const processed: IngestBatch[] = [];
    for (const j of jobs) {
      let b = j.batch;
      for (const p of pipeline.processors) b = await p(tx, b);
      processed.push(b);
    }
    writeInFlight(tx, storeBatches(tx, jobs, processed));
    if (confirm === 'confirm' && !(await confirmed)) throw new StaleJobs();
    const last = pipeline.writers.length - 1;
    for (let i = 0; i <= last; i++) {
      if (i === last) allowCommitBehind(tx);
      await pipeline.writers[i]!(tx, processed);
    }
    await confirmed;
    for (const w of writesInFlight(tx)) await w;
    return processed;
  } catch (e) {
    // The first statement that failed tells why: the ones after it only report the aborted transaction.
    await confirmed;
    for (const w of writesInFlight(tx)) await w;
    throw e;
  }
}

/** Sends the storage of the processed batches of `jobs` (rows, device touches, files committed); resolves once stored. */
function storeBatches(tx: DbOrTx, jobs: readonly Job[], processed: readonly IngestBatch[]): Promise<unknown> {
  const touch = (id: number) => jobs.some((j) => j.touch.has(id));
  const writes: Promise<unknown>[] = [];
  for (const channel of ['REALTIME', 'OFFLINE'] as const) {
    const part = processed.filter((b) => b.channel === channel);
    if (!part.length) continue;
    const merged: IngestBatch = { orgId: part[0]!.orgId, channel, points: concatLists(part.map((b) => b.points)), events: concatLists(part.map((b) => b.events)), attributes: concatLists(part.map((b) => b.attributes)), files: concatLists(part.map((b) => b.files)) };
    writes.push(writeBatch(tx, merged, touch));
  }
  const fileIds = processed.flatMap((b) => b.files.map((f) => f.fileId));
  // Announced (presigned) files wait for their bytes; uploaded ones are complete.
  if (fileIds.length) writes.push(tx.update(filesTable).set({ state: sql`case when ${filesTable.state} = 'reserved' then 'awaiting' else 'committed' end` }).where(inArray(filesTable.id, fileIds)));
  return Promise.all(writes);
}

/**
 * The ingest write path. Up to `maxParallel` transactions run at once; when all are busy,
 * arriving batches queue and the next free slot writes them all in ONE transaction (group
 * commit: one WAL flush for many small requests). Nothing is acknowledged before its commit.
 * If a shared transaction fails, each of its batches is retried alone, so that one bad batch
 * (a failing processor or writer) never fails its neighbours.
 *
 * PERF: a batch that writes a device which a running transaction also writes waits in the queue
 * (and is then merged with the other waiting batches) instead of starting a transaction of its
 * own that would block on that one's row locks (latest_values, devices, rollups) until it
 * commits, holding a connection and its own locks meanwhile. Batches of one device keep their
 * arrival order: a queued batch is never overtaken by a later batch sharing a device with it.
 */
export function createBatchWriter(transaction: WriteTransaction, pipeline: IngestPipeline, log: Logger, opts: BatchWriterOptions): BatchWriter {
  const queue: Job[] = [];
  /** Devices written by running transactions, with how many of them write each. */
  const busy = new Map<number, number>();
  let running = 0;
  /** Running transactions with fewer than `overlapMinValues` values. */
  let small = 0;
  const overlapMin = opts.overlapMinValues ?? OVERLAP_MIN_VALUES;
  const settle = (jobs: readonly Job[]) => (out: IngestBatch[]) => jobs.forEach((j, k) => j.resolve(out[k]!));

  const attempt = (jobs: readonly Job[], confirm: Confirm) => transaction((tx) => writeJobs(tx, pipeline, jobs, confirm));

  async function flush(jobs: Job[]): Promise<void> {
    const confirm: Confirm = assertable(jobs.map((j) => j.facts)) ? 'assert' : 'confirm';
    if (jobs.length > 1 || confirm === 'assert') {
      try {
        settle(jobs)(await attempt(jobs, confirm));
        return;
      } catch (err) {
        if (jobs.length === 1 && !(err instanceof StaleFacts)) return jobs[0]!.reject(err);
        if (!(err instanceof StaleJobs) && !(err instanceof StaleFacts)) log.debug({ err, batches: jobs.length }, 'shared ingest transaction failed; retrying its batches alone');
      }
    }
    for (const j of jobs) {
      if (j.settled) continue;
      // NOTE: a job whose fact no longer holds was answered by its confirmation already.
      await attempt([j], 'confirm').then(settle([j]), j.reject);
    }
  }

  const overlaps = (devices: ReadonlySet<number>, other: { has(id: number): boolean }) => {
    for (const d of devices) if (other.has(d)) return true;
    return false;
  };

  /** The next transaction's batches: queued ones free of running devices, in arrival order per device. */
  function take(): Job[] {
    const jobs: Job[] = [];
    const skipped = new Set<number>();
    let values = 0;
    for (let i = 0; i < queue.length; ) {
      const j = queue[i]!;
      const size = sizeOf(j.batch);
      const fits = !jobs.length || (opts.groupCommit && values + size <= opts.maxValues && j.batch.orgId === jobs[0]!.batch.orgId);
      if (fits && !overlaps(j.devices, busy) && !overlaps(j.devices, skipped)) {
        jobs.push(j);
        values += size;
        queue.splice(i, 1);
        if (!opts.groupCommit) break;
      } else {
        for (const d of j.devices) skipped.add(d);
        i++;
      }
    }
    return jobs;
  }

  function pump(): void {
    while (running < opts.maxParallel && !small && queue.length) {
      const jobs = take();
      if (!jobs.length) return;
      const devices = new Set<number>();
      for (const j of jobs) for (const d of j.devices) devices.add(d);
      for (const d of devices) busy.set(d, (busy.get(d) ?? 0) + 1);
      const isSmall = jobs.reduce((n, j) => n + sizeOf(j.batch), 0) < overlapMin;
      running++;
      if (isSmall) small++;
      void flush(jobs).finally(() => {
        for (const d of devices) {
          const n = busy.get(d)! - 1;
          if (n) busy.set(d, n);
          else busy.delete(d);
        }
        running--;
        if (isSmall) small--;
        pump();
      });
    }
  }

  return {
    write(batch, touch, facts) {
      return new Promise<IngestBatch>((resolve, reject) => {
        queue.push({ batch, touch, devices: devicesOf(batch), facts, settled: false, resolve, reject });
        pump();
      });
    },
    stats: () => ({ queued: queue.length, running }),
  };
}
