import type { LogMessage } from '../message';

/** How many records the published parts waiting for the hub may hold; the oldest go first (the hub then decodes them). */
const OWN_RECORDS_MAX = 200_000;

/**
 * The device messages this instance published, by `Nats-Msg-Id`, until its hub reads them back
 * from the stream.
 * PERF: the instance that published a message already holds it decoded; its hub takes it from
 * here instead of parsing the stored JSON again (with N instances, 1/N of the stream). A message
 * stored under an id is the one first published with it, and every publish of an id carries the
 * same content (the id is made from the outbox row and the device's place in it).
 */
export interface OwnParts {
  remember(msgId: string, part: LogMessage): void;
  /** The part published under `msgId`, forgotten as it is taken; undefined when this instance holds none. */
  take(msgId: string): LogMessage | undefined;
  /** Parts held. */
  readonly size: number;
}

const recordsOf = (m: LogMessage) => m.points.length + m.attributes.length + m.events.length + m.files.length;

/** An empty {@link OwnParts} holding at most `maxRecords` records (0: remembers nothing). */
export function createOwnParts(maxRecords = OWN_RECORDS_MAX): OwnParts {
  const parts = new Map<string, LogMessage>();
  let records = 0;
  const forget = (msgId: string, part: LogMessage) => {
    parts.delete(msgId);
    records -= recordsOf(part);
  };
  return {
    remember(msgId, part) {
      if (maxRecords <= 0) return;
      const before = parts.get(msgId);
      if (before) forget(msgId, before);
      parts.set(msgId, part);
      records += recordsOf(part);
      for (const [id, oldest] of parts) {
        if (records <= maxRecords) break;
        forget(id, oldest);
      }
    },
    take(msgId) {
      const part = parts.get(msgId);
      if (part) forget(msgId, part);
      return part;
    },
    get size() {
      return parts.size;
    },
  };
}
