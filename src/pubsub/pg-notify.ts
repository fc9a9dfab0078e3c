import type postgres from 'postgres';
import type { Logger } from '../log';
import type { PubSub } from './types';

/** The NOTIFY channel of the live log. */
export const LIVE_CHANNEL = 'tributary_live';

/**
 * PubSub over PostgreSQL LISTEN/NOTIFY on {@link LIVE_CHANNEL}, with an offset as the payload (at
 * most 20 bytes, far below NOTIFY's 8,000-byte limit): the log append sends its transaction's own
 * notification (`notifyChannel`), delivered when it commits; {@link PubSub.publish} sends one
 * outside a transaction. postgres.js keeps one dedicated LISTEN connection and re-listens after a
 * reconnect; the hub also polls, so a notification lost during a reconnect only delays delivery.
 */
export function createPgNotifyPubSub(sql: postgres.Sql, log: Logger): PubSub {
  const listeners = new Set<(offset: number) => void>();
  let closed = false;
  const listening = sql
    .listen(LIVE_CHANNEL, (payload) => {
      const offset = Number(payload);
      if (!Number.isSafeInteger(offset)) return;
      for (const l of listeners) l(offset);
    })
    .catch((err: unknown) => {
      log.error({ err }, 'live LISTEN failed');
      return undefined;
    });
  return {
    notifyChannel: LIVE_CHANNEL,
    publish(offset) {
      if (closed) return;
      sql.notify(LIVE_CHANNEL, String(offset)).catch((err: unknown) => log.warn({ err }, 'live NOTIFY failed'));
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      listeners.clear();
      const l = await listening;
      await l?.unlisten().catch(() => {});
    },
  };
}
