import type { IngestBatch } from '../ingest/types';
import type { DbOrTx } from '../storage/db';
import type { LiveHub } from './hub';
import type { LogMessage } from './message';

/** One page of a replay (see {@link LogReader}). */
export interface ReplayPage {
  /** Messages of the reader's organisation, in offset order. */
  readonly items: readonly LogMessage[];
  /** The highest offset retention had removed when the page was read (0 when none). */
  readonly prunedThrough: number;
  /** True when the log held nothing more of the organisation when the page was read. */
  readonly end: boolean;
  /** With `end`: a position up to which the organisation has nothing more (when the log knows one). */
  readonly through?: number;
}

/** Reads one organisation's messages after an offset, page by page. */
export interface LogReader {
  next(limit: number): Promise<ReplayPage>;
  /** Frees what the reader holds (a JetStream consumer); it is not used afterwards. */
  close(): void;
}

/** The message log as the live runtime reads it: replay, offsets and retention. */
export interface LiveLog {
  /** The highest offset in the log (0 when empty). */
  head(): Promise<number>;
  /** A reader of `orgId`'s messages after `afterOffset`. */
  reader(orgId: string, afterOffset: number): LogReader;
  /** OFFSET_OUT_OF_RANGE when resuming `orgId` after `fromOffset` would miss removed messages. */
  checkResume(orgId: string, fromOffset: number, windowS: number): Promise<void>;
  /** The oldest position `orgId` can resume after. */
  earliest(orgId: string, windowS: number): Promise<number>;
  /** The position just before `orgId`'s first message at or after `timeMs`; null when none. */
  offsetBefore(orgId: string, timeMs: number): Promise<number | null>;
  /** Applies retention once; returns the messages removed. */
  prune(windowS: number): Promise<number>;
}

/** What /readyz reports about the stream backend. */
export interface StreamStatus {
  readonly backend: 'postgres' | 'nats';
  /** Whether live streams can be served now. */
  readonly available: boolean;
}

/**
 * Where live messages go and come from: the PostgreSQL log (default) or NATS JetStream
 * (NATS_URL). The ingest path calls {@link StreamBackend.append} as the last write of its
 * transaction and {@link StreamBackend.committed} after the commit; subscriptions read through
 * `hub` and `log`.
 */
export interface StreamBackend {
  readonly kind: StreamStatus['backend'];
  readonly hub: LiveHub;
  readonly log: LiveLog;
  /**
   * Writes the batches' messages (one each, in order) in the ingest transaction `tx`, so that they
   * exist iff the data committed; all the batches of a shared (group-commit) transaction at once.
   */
  append(tx: DbOrTx, batches: readonly IngestBatch[]): Promise<void>;
  /** Called once the transaction that appended `batch` committed (once per batch). */
  committed(batch: IngestBatch): void;
  /** SERVICE_UNAVAILABLE when live streams cannot be served now. */
  requireAvailable(): void;
  status(): StreamStatus;
  close(): Promise<void>;
}
