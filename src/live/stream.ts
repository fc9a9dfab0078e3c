import type { LiveLog, LogReader } from './backend';
import type { LiveHub, HubSubscriber } from './hub';
import type { LogMessage } from './message';
import { projectMessage, type LiveBatch, type Selection } from './project';

/** Rows read per replay query. */
const REPLAY_PAGE = 200;

/**
 * How long a subscriber with more than SUBSCRIBER_BUFFER_MAX messages waiting may go without
 * taking one before it is disconnected. The hub dispatches a backlog in bursts faster than any
 * socket drains, so a count alone would also cut off consumers that keep up.
 */
export const SLOW_CONSUMER_GRACE_MS = 1_000;
/** Waiting messages, as a multiple of SUBSCRIBER_BUFFER_MAX, that disconnect at once (the hard memory bound). */
export const BUFFER_HARD_FACTOR = 4;

/** Follows the streams of an instance (open streams, batches handed out) for the metrics. */
export interface LiveStreamObserver {
  opened(s: LiveStream): void;
  handed(s: LiveStream): void;
  closed(s: LiveStream): void;
}

/** Options of a {@link LiveStream}. */
export interface LiveStreamOptions {
  readonly observer?: LiveStreamObserver;
  readonly log: LiveLog;
  readonly hub: LiveHub;
  readonly orgId: string;
  readonly selection: Selection;
  /** Replay everything after this offset first; null starts at the live head. */
  readonly fromOffset: number | null;
  /** Most messages queued before the subscriber counts as too slow (SUBSCRIBER_BUFFER_MAX). */
  readonly bufferMax: number;
  /**
   * Called once when the subscriber is too slow: more than `bufferMax` messages waiting and none
   * taken for SLOW_CONSUMER_GRACE_MS, or more than BUFFER_HARD_FACTOR x `bufferMax` waiting.
   * The stream has stopped and detached. Also called, with a reason, when retention removed
   * messages the stream was to deliver before they were read, by the hub (`LiveHub.onLost`) or by
   * the stream's own replay: the client resumes from its last offset, and is told
   * OFFSET_OUT_OF_RANGE that the messages after it are gone.
   */
  readonly onOverflow: (reason?: string) => void;
  /** Called with a batch once the consumer asked for the next one (it was sent). */
  readonly onDelivered?: (b: LiveBatch) => void;
  /** Called once when the stream ends for any reason. */
  readonly onClose?: () => void;
}

/**
 * One subscription's stream: replays the log after `fromOffset` page by page (pulled, so a slow
 * reader holds no more than a page), then switches to the hub's live dispatch with no gap
 * (offsets at or below the replayed position are skipped). Live messages queue up to
 * `bufferMax`; past that the stream ends and `onOverflow` disconnects the client, which can
 * resume from its last offset. Implemented as a plain iterator (not a generator) so that
 * `return()` ends a stream that is waiting for data at once.
 */
export class LiveStream implements AsyncIterableIterator<LiveBatch>, HubSubscriber {
  readonly orgId: string;
  readonly deviceIds: ReadonlySet<number> | null;
  private selection: Selection;
  private queue: LiveBatch[] = [];
  private replay: LiveBatch[] = [];
  private waiting: ((r: IteratorResult<LiveBatch>) => void) | null = null;
  private mode: 'replay' | 'live';
  /** Last offset read or dispatched to this stream. */
  private pos: number;
  /** Offset of the last batch handed to the consumer (or the start position). */
  delivered: number;
  private done = false;
  private generation = 0;
  private lastYielded: LiveBatch | null = null;
  private lastPullAt = Date.now();
  private stallTimer: NodeJS.Timeout | null = null;
  private reader: LogReader | null = null;

  constructor(private readonly opts: LiveStreamOptions) {
    this.orgId = opts.orgId;
    this.selection = opts.selection;
    this.deviceIds = opts.selection.filter.deviceIds;
    if (opts.fromOffset === null) {
      this.mode = 'live';
      this.pos = opts.hub.cursor;
      opts.hub.attach(this);
    } else {
      this.mode = 'replay';
      this.pos = opts.fromOffset;
    }
    this.delivered = this.pos;
    opts.observer?.opened(this);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<LiveBatch> {
    return this;
  }

  /** Number of live messages waiting (for stats and tests). */
  get queued(): number {
    return this.queue.length;
  }

  deliver(m: LogMessage): void {
    if (this.done || this.mode !== 'live' || m.offset <= this.pos) return;
    this.pos = m.offset;
    const b = projectMessage(this.selection, m);
    if (!b) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(this.hand(b));
    } else {
      this.queue.push(b);
      if (this.queue.length > this.opts.bufferMax * BUFFER_HARD_FACTOR) this.overflow();
      else if (this.queue.length > this.opts.bufferMax) this.armStallCheck();
    }
  }

  private armStallCheck(): void {
    if (this.stallTimer || this.done) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      if (this.done || this.queue.length <= this.opts.bufferMax) return;
      if (Date.now() - this.lastPullAt >= SLOW_CONSUMER_GRACE_MS) this.overflow();
      else this.armStallCheck();
    }, SLOW_CONSUMER_GRACE_MS);
    this.stallTimer.unref();
  }

  private overflow(): void {
    this.stop();
    this.opts.onOverflow();
  }

  lost(reason = 'Messages were removed by retention before this instance read them'): void {
    if (this.done) return;
    this.stop();
    this.opts.onOverflow(reason);
  }

  async next(): Promise<IteratorResult<LiveBatch>> {
    this.lastPullAt = Date.now();
    if (this.lastYielded) {
      const b = this.lastYielded;
      this.lastYielded = null;
      this.opts.onDelivered?.(b);
    }
    for (;;) {
      if (this.done) return { done: true, value: undefined };
      const ready = this.replay.shift() ?? this.queue.shift();
      if (ready) return this.hand(ready);
      if (this.mode === 'live') {
        return new Promise((resolve) => {
          this.waiting = resolve;
        });
      }
      await this.readPage();
    }
  }

  async return(): Promise<IteratorResult<LiveBatch>> {
    this.stop();
    return { done: true, value: undefined };
  }

  /**
   * Re-reads from `fromOffset` with a new selection (a consumer-group rebalance); queued live
   * messages are dropped, since the replay covers them.
   */
  restart(selection: Selection, fromOffset: number): void {
    if (this.done) return;
    this.opts.hub.detach(this);
    this.generation++;
    this.closeReader();
    this.selection = selection;
    this.queue = [];
    this.replay = [];
    this.mode = 'replay';
    this.pos = fromOffset;
    const w = this.waiting;
    this.waiting = null;
    if (w) this.next().then(w, () => w({ done: true, value: undefined }));
  }

  private hand(b: LiveBatch): IteratorResult<LiveBatch> {
    this.opts.observer?.handed(this);
    this.lastYielded = b;
    this.delivered = Number(b.offset);
    return { done: false, value: b };
  }

  /** Reads one replay page into `replay`; switches to live once caught up with the hub. */
  private async readPage(): Promise<void> {
    const gen = this.generation;
    // NOTE: everything up to this cursor was in the log before the page is read.
    const dispatched = this.opts.hub.cursor;
    this.reader ??= this.opts.log.reader(this.orgId, this.pos);
    const { items: rows, prunedThrough, end, through } = await this.reader.next(REPLAY_PAGE);
    if (gen !== this.generation || this.done) return;
    // NOTE: retention removed messages after the position before the replay read them (the replay
    // ran longer than the window): end, as the hub does, so that the resume says what is gone.
    if (prunedThrough > this.pos) return this.lost();
    for (const m of rows) {
      this.pos = m.offset;
      const b = projectMessage(this.selection, m);
      if (b) this.replay.push(b);
    }
    // NOTE: the organisation has nothing more up to `dispatched` (the log held at least that much).
    if (end) this.pos = Math.max(this.pos, dispatched, through ?? 0);
    // NOTE: everything up to hub.cursor has been dispatched and only later messages will be; once
    // the replay has read at least that far, attaching loses nothing (duplicates are skipped).
    if (end && this.pos >= this.opts.hub.cursor) {
      this.closeReader();
      this.mode = 'live';
      this.opts.hub.attach(this);
    }
  }

  private closeReader(): void {
    this.reader?.close();
    this.reader = null;
  }

  private stop(): void {
    if (this.done) return;
    this.done = true;
    this.closeReader();
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.opts.hub.detach(this);
    this.queue = [];
    this.replay = [];
    const w = this.waiting;
    this.waiting = null;
    w?.({ done: true, value: undefined });
    this.opts.observer?.closed(this);
    this.opts.onClose?.();
  }
}
