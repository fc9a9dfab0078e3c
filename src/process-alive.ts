/**
 * True when a process with `pid` runs on this host. EPERM means it exists but belongs to another
 * user. Used to tell the leftovers of a killed process (a lock, a spool directory) from those of a
 * live one.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
