/**
 * Calls `onOrphaned` once when this process's parent exits (the process is re-parented).
 *
 * NOTE: npm and npx run a command through `sh -c`; on SIGTERM npm forwards the signal to that
 * shell, which dies without passing it on, and the server would keep listening as an orphan.
 * Watching the parent lets the server drain and stop with whatever started it. Polls
 * `process.ppid`, as Node has no parent-death event; the timer does not keep the process alive.
 */
export function watchParent(onOrphaned: () => void, intervalMs = 250): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
