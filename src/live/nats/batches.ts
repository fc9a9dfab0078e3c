import type { JsMsg } from '@nats-io/jetstream';
import { concatLists } from '../../lists';
import type { LogMessage } from '../message';
import { BATCH_HEADER, DEVICE_ID_HEADER, MODEL_ID_HEADER, MSG_ID_HEADER, PART_HEADER } from './wire';

/** Where a stream message sits in its ingest batch (null batch: a message on its own). */
export interface PartInfo {
  readonly batch: string | null;
  readonly index: number;
  readonly count: number;
}

/** What the headers of a stream message say (ids NaN and strings empty where a header is missing). */
export interface StreamHeaders {
  readonly deviceId: number;
  readonly modelId: number;
  readonly msgId: string;
  readonly part: PartInfo;
}

const ALONE: PartInfo = { batch: null, index: 0, count: 1 };

/** The headers of a stream message, read in one pass (each `get` of the client's headers scans them all). */
export function headersOf(m: JsMsg): StreamHeaders {
  let deviceId = '';
  let modelId = '';
  let msgId = '';
  let batch = '';
  let part = '';
  if (m.headers) {
    for (const [key, values] of m.headers as unknown as Iterable<[string, string[]]>) {
      const v = values[0] ?? '';
      if (key === DEVICE_ID_HEADER) deviceId = v;
      else if (key === MODEL_ID_HEADER) modelId = v;
      else if (key === MSG_ID_HEADER) msgId = v;
      else if (key === BATCH_HEADER) batch = v;
      else if (key === PART_HEADER) part = v;
    }
  }
  const slash = part.indexOf('/');
  const i = Number(part.slice(0, slash));
  const n = Number(part.slice(slash + 1));
  return {
    deviceId: deviceId ? Number(deviceId) : NaN,
    modelId: modelId ? Number(modelId) : NaN,
    msgId,
    part: slash > 0 && Number.isSafeInteger(i) && Number.isSafeInteger(n) && batch ? { batch, index: i, count: n } : ALONE,
  };
}

/** Called with a reassembled message (null when none of its parts was decoded) and the sequence of its last part. */
export type AssembledHandler = (m: LogMessage | null, lastSeq: number) => void;

/** Joins the consecutive device messages of one ingest batch back into one message. */
export interface BatchAssembler {
  /** Takes the next stream message in sequence order; `message` is null when it need not be decoded. */
  push(seq: number, part: PartInfo, message: LogMessage | null): void;
  /** Hands over a batch whose remaining parts have not arrived (yet) as a message of its own. */
  flush(): void;
}

function merge(parts: readonly LogMessage[], offset: number): LogMessage | null {
  const [first] = parts;
  if (!first) return null;
  if (parts.length === 1) return { ...first, offset };
  return {
    offset,
    orgId: first.orgId,
    channel: first.channel,
    points: concatLists(parts.map((p) => p.points)),
    attributes: concatLists(parts.map((p) => p.attributes)),
    events: concatLists(parts.map((p) => p.events)),
    files: concatLists(parts.map((p) => p.files)),
  };
}

/**
 * A fresh {@link BatchAssembler}. The relay publishes a batch's device messages one after the
 * other, one relay at a time, so they are consecutive in the stream; the message handed on has
 * the offset of the batch's last part, so resuming after it skips the whole batch, and a
 * subscriber receives one message per ingest request as on the database log.
 */
export function createBatchAssembler(emit: AssembledHandler): BatchAssembler {
  let batch: string | null = null;
  let parts: LogMessage[] = [];
  let lastSeq = 0;
  const flush = () => {
    if (batch === null) return;
    const out = merge(parts, lastSeq);
    const seq = lastSeq;
    batch = null;
    parts = [];
    emit(out, seq);
  };
  return {
    push(seq, part, message) {
      if (batch !== null && batch !== part.batch) flush();
      if (part.batch === null || part.count <= 1) return emit(message ? { ...message, offset: seq } : null, seq);
      batch = part.batch;
      lastSeq = seq;
      if (message) parts.push(message);
      if (part.index >= part.count - 1) flush();
    },
    flush,
  };
}
