/** Longest a loop over query results runs before it lets other work in, in ms. */
export const LOOP_SLICE_MS = 10;
/** Iterations between two clock reads. */
const CHECK_EVERY = 1024;

/**
 * A yield point for long loops (gap filling, bucket assembly, row mapping): call `tick()` once
 * per item and await it; about every {@link LOOP_SLICE_MS} it waits for the event loop to run
 * other work (health checks, other tenants' requests), otherwise it resolves synchronously.
 */
export function createLoopYielder(sliceMs = LOOP_SLICE_MS): { tick(): Promise<void> | undefined } {
  let n = 0;
  let since = performance.now();
  return {
    tick() {
      if (++n % CHECK_EVERY !== 0) return undefined;
      const now = performance.now();
      if (now - since < sliceMs) return undefined;
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          since = performance.now();
          resolve();
        }),
      );
    },
  };
}
