/**
 * loadmon's own processes: this one (every thread: the scanning thread, the
 * watchdog thread, libuv's) and the ones it starts for itself (the
 * detail-reader child, the eBPF helper). Their load is real but it is the
 * observer's, so every collector leaves them out of captures and counts
 * them in `capture.own_threads` (docs/snapshot-schema.md, "Limits"): a field,
 * not a note, since the scanning thread is R in nearly every procfs capture. Children are
 * registered by pid when they are started and forgotten when they exit.
 */

const children = new Set<number>();

/** Registers a process loadmon started for itself; returns its unregistration. */
export function registerOwnProcess(pid: number | undefined): () => void {
  if (pid === undefined || pid <= 0) return () => {};
  children.add(pid);
  return () => {
    children.delete(pid);
  };
}

/** This process and every registered child, now. */
export function ownPids(): Set<number> {
  return new Set([process.pid, ...children]);
}

/** Removes the threads of loadmon's own processes from `tasks` in place; returns how many there were. */
export function leaveOutOwn(tasks: { pid: number }[], own: ReadonlySet<number> = ownPids()): number {
  let kept = 0;
  for (const t of tasks) if (!own.has(t.pid)) tasks[kept++] = t;
  const left = tasks.length - kept;
  tasks.length = kept;
  return left;
}

/** The `capture` fields for `threads` R/D threads of loadmon's own processes left out: none when 0. */
export function ownThreadsField(threads: number): { own_threads?: number } {
  return threads > 0 ? { own_threads: threads } : {};
}
