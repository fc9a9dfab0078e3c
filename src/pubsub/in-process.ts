import type { PubSub } from './types';

/** A PubSub inside one process: what PGlite (one process owns the database) uses. */
export function createInProcessPubSub(): PubSub {
  const listeners = new Set<(offset: number) => void>();
  let closed = false;
  return {
    publish(offset) {
      if (closed) return;
      // NOTE: delivered on the next tick so that a publisher never runs subscriber code inline.
      queueMicrotask(() => {
        for (const l of listeners) l(offset);
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      listeners.clear();
    },
  };
}
