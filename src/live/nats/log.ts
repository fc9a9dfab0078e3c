import { DeliverPolicy, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { AppError, ErrorCode } from '../../errors';
import type { LiveLog, LogReader, ReplayPage } from '../backend';
import { offsetOutOfRange } from '../log';
import type { LogMessage } from '../message';
import { createBatchAssembler, headersOf } from './batches';
import { decodeJsMsg } from './hub';
import { encodeToken } from './wire';

/** The JetStream handles of the log, once connected. */
export interface NatsLogSource {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
}

/** Longest wait for a page of messages that JetStream reported as present. */
const FETCH_EXPIRES_MS = 5_000;

/** The error of a live operation while NATS cannot be reached. */
export const natsUnavailable = () => new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'the live stream backend (NATS) is unavailable; retry later');

/**
 * The JetStream stream as a {@link LiveLog}. Offsets are stream sequences; retention is the
 * stream's maximum age (REPLAY_WINDOW_S), so everything before the stream's first sequence is gone.
 * `source` returns null while NATS is unreachable (SERVICE_UNAVAILABLE).
 */
export function createNatsLog(source: () => NatsLogSource | null, prefix: string): LiveLog {
  const need = (): NatsLogSource => {
    const s = source();
    if (!s) throw natsUnavailable();
    return s;
  };
  /** Runs a JetStream request; what fails for lack of NATS is SERVICE_UNAVAILABLE. */
  async function request<T>(fn: (s: NatsLogSource) => Promise<T>): Promise<T> {
    const s = need();
    try {
      return await fn(s);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, natsUnavailable().message, undefined, { cause: err });
    }
  }
  const state = (s: NatsLogSource) => s.jsm.streams.info(s.stream).then((i) => i.state);
  const removedThrough = (first: number) => Math.max(0, first - 1);
  const orgSubject = (orgId: string) => `${prefix}.${encodeToken(orgId)}.>`;

  return {
    head: () => request(async (s) => (await state(s)).last_seq),
    reader(orgId, afterOffset): LogReader {
      let consumer: Consumer | null = null;
      let pending = 0;
      let closed = false;
      return {
        next: (limit) =>
          request(async (s): Promise<ReplayPage> => {
            const st = await state(s);
            const prunedThrough = removedThrough(st.first_seq);
            if (!consumer) {
              consumer = await s.js.consumers.get(s.stream, { filter_subjects: orgSubject(orgId), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterOffset + 1 });
              pending = -1;
            }
            // NOTE: a count from an earlier page may be stale; "nothing more" is asked afresh.
            if (pending <= 0) pending = (await consumer.info()).num_pending;
            // NOTE: "nothing more" is learnt after the stream's state was read, so it covers its last sequence.
            if (pending === 0 || closed) return { items: [], prunedThrough, end: true, through: st.last_seq };
            const items: LogMessage[] = [];
            const assembler = createBatchAssembler((msg) => void (msg && items.push(msg)));
            const batch = await consumer.fetch({ max_messages: Math.min(limit, pending), expires: FETCH_EXPIRES_MS });
            for await (const m of batch as AsyncIterable<JsMsg>) {
              pending = m.info.pending;
              const h = headersOf(m);
              assembler.push(m.seq, h.part, decodeJsMsg(m, h));
            }
            assembler.flush();
            return pending === 0 ? { items, prunedThrough, end: true, through: st.last_seq } : { items, prunedThrough, end: false };
          }),
        close() {
          closed = true;
          void (consumer as Consumer | null)?.delete().catch(() => undefined);
        },
      };
    },
    checkResume: (orgId, fromOffset, windowS) =>
      request(async (s) => {
        if (fromOffset < removedThrough((await state(s)).first_seq)) throw offsetOutOfRange(fromOffset, windowS);
        void orgId;
      }),
    earliest: () => request(async (s) => removedThrough((await state(s)).first_seq)),
    offsetBefore: (orgId, timeMs) =>
      request(async (s) => {
        const c = await s.js.consumers.get(s.stream, { filter_subjects: orgSubject(orgId), deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(timeMs).toISOString() });
        try {
          if ((await c.info()).num_pending === 0) return null;
          const m = await c.next({ expires: FETCH_EXPIRES_MS });
          return m ? m.seq - 1 : null;
        } finally {
          void c.delete().catch(() => undefined);
        }
      }),
    // NOTE: the stream's maximum age removes old messages; nothing to do here.
    prune: async () => 0,
  };
}
