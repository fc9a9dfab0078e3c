import type { Logger } from './log';

/** A background task of an instance, run every interval. */
export interface PeriodicTask {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `run` every `intervalMs` (first run after one interval), never two runs at once (a tick
 * that finds a run in progress is skipped); a failed run is logged as `<what> failed`. The timer
 * does not keep the process alive.
 */
export function startPeriodicTask(what: string, intervalMs: number, run: () => Promise<unknown>, log?: Logger): PeriodicTask {
  let current: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (current) return;
    current = run()
      .catch((err: unknown) => log?.error({ err }, `${what} failed`))
      .finally(() => {
        current = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
