import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './pg-cluster';

/** The service under test, as a separate process (bin/tributary.js serve). */
export interface Service {
  readonly url: string;
  readonly pid: number;
  /** Exit code or signal once the process ended, else null. */
  exited(): string | null;
  /** Peak resident set size so far, in MB (VmHWM). */
  peakRssMb(): number;
  /** Current resident set size, in MB. */
  rssMb(): number;
  kill(signal: NodeJS.Signals): Promise<void>;
}

const ROOT = new URL('../..', import.meta.url).pathname;

/** Reads a field of /proc/<pid>/status in kB. */
function procStatusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Starts the service on a free port with `env` and waits until /readyz answers 200. */
export async function startService(env: Record<string, string>, logDir: string): Promise<Service> {
  const port = await freePort();
  const log = openSync(join(logDir, `service-${port}.log`), 'a');
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/tributary.js'), 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SCHEDULER_ENABLED: 'false', ...env },
    stdio: ['ignore', log, log],
  });
  let exit: string | null = null;
  child.once('exit', (code, signal) => (exit = signal ?? String(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exit !== null) throw new Error(`service exited (${exit}) before it was ready; see ${logDir}`);
    if (Date.now() > deadline) throw new Error('service not ready within 60 s');
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // NOTE: not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    url,
    pid,
    exited: () => exit,
    peakRssMb: () => procStatusKb(pid, 'VmHWM') / 1024,
    rssMb: () => procStatusKb(pid, 'VmRSS') / 1024,
    async kill(signal) {
      if (exit !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await done;
    },
  };
}

/** Polls `probe` every 50 ms until it is true; the seconds it took, or Infinity past `limitS`. */
export async function secondsUntil(probe: () => Promise<boolean>, limitS: number): Promise<number> {
  const started = performance.now();
  while ((performance.now() - started) / 1000 < limitS) {
    try {
      if (await probe()) return (performance.now() - started) / 1000;
    } catch {
      // NOTE: not yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return Infinity;
}
