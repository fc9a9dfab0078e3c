import type { Logger } from './log';

/** What a periodic task did so far (read by the metrics). */
export interface PeriodicTaskStats {
  /** Runs finished, failed ones included. */
  readonly runs: number;
  readonly failures: number;
  /** When the last successful run ended (epoch ms), null before the first. */
  readonly lastSuccessMs: number | null;
}

/** A background task of an instance, run every interval. */
export interface PeriodicTask {
  stats(): PeriodicTaskStats;
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
  let runs = 0;
  let failures = 0;
  let lastSuccessMs: number | null = null;
  const timer = setInterval(() => {
    if (current) return;
    current = run()
      .then(
        () => {
          lastSuccessMs = Date.now();
        },
        (err: unknown) => {
          failures++;
          log?.error({ err }, `${what} failed`);
        },
      )
      .finally(() => {
        runs++;
        current = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    stats: () => ({ runs, failures, lastSuccessMs }),
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
