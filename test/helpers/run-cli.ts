import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The CLI entry point, as `npx tributary` runs it. */
export const CLI = join(process.cwd(), 'bin/tributary.js');

/** Environment for a child process: PATH and HOME only, plus `env` (no test settings leak in). */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', LOG_LEVEL: 'warn', ...env };
}

/** The outcome of one CLI run. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Waits for a child to exit and collects its output. */
export function collect(child: ChildProcess, timeoutMs = 150_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      // NOTE: 'exit' can fire before the pipes drain.
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

/** Runs `tributary <args>` to completion. */
export function runCli(args: readonly string[], env: Record<string, string>, opts: { cwd?: string } = {}): Promise<CliResult> {
  return collect(spawn(process.execPath, [CLI, ...args], { env: childEnv(env), cwd: opts.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] }));
}
