import { useSyncExternalStore } from 'react';
import { createClient, type Client } from 'graphql-ws';
import { errorOf, type GraphQLErrorShape } from './client';
import { ApiError } from './errors';
import { getSessionState, getToken, subscribeSession } from './session-store';
import { refreshMe } from './session';

/**
 * Live data over graphql-ws on /graphql, with the session's token in `connection_init`. One
 * WebSocket carries every stream of the tab. A stream resumes after a lost connection from the
 * last offset it handled (`fromOffset`), so nothing is missed and nothing is shown twice.
 */

/** The WebSocket's state, for the indicator in the header. */
export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting';

/** Delay before reconnecting: doubles from 1 s up to this. */
const MAX_RETRY_DELAY_MS = 15_000;

let client: Client | null = null;
let status: ConnectionStatus = 'idle';
const statusListeners = new Set<() => void>();

function setStatus(next: ConnectionStatus): void {
  if (next === status) return;
  status = next;
  for (const l of statusListeners) l();
}

function getClient(): Client {
  if (client) return client;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  // NOTE: the console resubscribes by itself (with fromOffset), so the client does not retry.
  client = createClient({
    url,
    lazy: true,
    retryAttempts: 0,
    keepAlive: 15_000,
    connectionParams: () => ({ accessToken: getToken() ?? '' }),
    on: {
      connecting: () => setStatus(status === 'idle' ? 'connecting' : 'reconnecting'),
      connected: () => setStatus('connected'),
      closed: (event) => {
        setStatus(activeStreams > 0 ? 'reconnecting' : 'idle');
        // 4403: the token was refused or revoked; asking who we are ends the session if so.
        if ((event as CloseEvent | undefined)?.code === 4403) void refreshMe().catch(() => undefined);
      },
    },
  });
  return client;
}

// Signing out closes the socket. A renewed token needs no new socket: the server closes the old
// one (4403) when its token expires, and the streams then resubscribe with the new token.
let signedInAs: string | null = getSessionState().session?.me.serviceAccount.accessKey ?? null;
subscribeSession(() => {
  const now = getSessionState().session?.me.serviceAccount.accessKey ?? null;
  if (now === signedInAs) return;
  signedInAs = now;
  if (client) {
    void client.dispose();
    client = null;
    setStatus('idle');
  }
});

let activeStreams = 0;

/** The WebSocket's state in a component. */
export function useConnectionStatus(): ConnectionStatus {
  return useSyncExternalStore(
    (l) => {
      statusListeners.add(l);
      return () => statusListeners.delete(l);
    },
    () => status,
  );
}

/** A batch of a live subscription: it always has an offset. */
export interface OffsetBatch {
  readonly offset: string;
}

/** What a stream tells its owner. */
export interface LiveStreamHandlers<B extends OffsetBatch> {
  /** Each batch, once, in order. */
  onBatch(batch: B): void;
  /** A failure: the stream goes on (it resubscribes) unless `fatal`. */
  onError?(error: ApiError, fatal: boolean): void;
  /** Subscribed (first time, or again after a lost connection, `resumedFrom` the offset). */
  onSubscribed?(resumedFrom: string | null): void;
}

/** A running stream. */
export interface LiveStream {
  /** The offset of the last batch handled, or null. */
  lastOffset(): string | null;
  stop(): void;
}

/**
 * Opens a subscription whose root field `field` returns a LiveBatch. `query` must declare
 * `$fromOffset: String` and pass it on. Replayed batches at or before the last handled offset are
 * skipped (delivery is at least once).
 */
export function openLiveStream<B extends OffsetBatch>(query: string, variables: Record<string, unknown>, field: string, handlers: LiveStreamHandlers<B>, fromOffset: string | null = null): LiveStream {
  let last: string | null = fromOffset;
  let stopped = false;
  let unsubscribe: (() => void) | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  activeStreams++;

  const subscribe = () => {
    if (stopped) return;
    const resumedFrom = last;
    let acknowledged = false;
    unsubscribe = getClient().subscribe<Record<string, B>>(
      { query, variables: { ...variables, fromOffset: last } },
      {
        next: (result) => {
          if (!acknowledged) {
            acknowledged = true;
            failures = 0;
          }
          if (result.errors?.[0]) return handlers.onError?.(errorOf(result.errors[0] as GraphQLErrorShape), false);
          const batch = result.data?.[field];
          if (!batch) return;
          if (last !== null && BigInt(batch.offset) <= BigInt(last)) return;
          last = batch.offset;
          handlers.onBatch(batch);
        },
        error: (e) => {
          unsubscribe = null;
          if (stopped) return;
          const gqlErrors = Array.isArray(e) ? (e as GraphQLErrorShape[]) : null;
          const closeCode = (e as { code?: unknown } | null)?.code;
          const err = gqlErrors?.[0] ? errorOf(gqlErrors[0]) : new ApiError('NETWORK', `the live connection was lost${typeof closeCode === 'number' ? ` (close code ${closeCode})` : ''}`);
          if (err.code === 'OFFSET_OUT_OF_RANGE') {
            // The messages after our offset are gone: say so and go on from now.
            handlers.onError?.(err, false);
            last = null;
            return subscribe();
          }
          const fatal = !!gqlErrors && err.code !== 'SERVICE_UNAVAILABLE' && err.code !== 'RATE_LIMITED';
          handlers.onError?.(err, fatal);
          if (fatal) return;
          failures++;
          retryTimer = setTimeout(subscribe, Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** Math.min(failures - 1, 4)));
        },
        complete: () => {
          unsubscribe = null;
        },
      },
    );
    handlers.onSubscribed?.(resumedFrom);
  };
  subscribe();

  return {
    lastOffset: () => last,
    stop() {
      if (stopped) return;
      stopped = true;
      activeStreams--;
      clearTimeout(retryTimer);
      unsubscribe?.();
      if (activeStreams === 0 && client) {
        void client.dispose();
        client = null;
        setStatus('idle');
      }
    },
  };
}
