/**
 * loadmon's own processes: this one (every thread: the scanning thread, the
 * watchdog thread, libuv's) and the ones it starts for itself (the
 * detail-reader child, the eBPF helper). Their load is real but it is the
 * observer's, so every collector leaves them out of captures and counts
 * them in a note (docs/snapshot-schema.md, "Limits"). Children are
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

/** The note of a capture that left out `threads` R/D threads of loadmon's own processes; null for none. */
export function selfExclusionNote(threads: number, pids: ReadonlySet<number>): string | null {
  if (threads === 0) return null;
  return `left out ${threads} R/D thread(s) of loadmon itself (pids ${[...pids].sort((a, b) => a - b).join(', ')}): the observer's own load`;
}
