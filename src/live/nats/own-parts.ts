import type { LogMessage } from '../message';

/** How many published parts wait for the hub at most; the oldest go first (the hub then decodes them). */
const OWN_PARTS_MAX = 20_000;

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
  readonly size: number;
}

export function createOwnParts(max = OWN_PARTS_MAX): OwnParts {
  const parts = new Map<string, LogMessage>();
  return {
    remember(msgId, part) {
      parts.set(msgId, part);
      if (parts.size > max) parts.delete(parts.keys().next().value!);
    },
    take(msgId) {
      const part = parts.get(msgId);
      if (part) parts.delete(msgId);
      return part;
    },
    get size() {
      return parts.size;
    },
  };
}
