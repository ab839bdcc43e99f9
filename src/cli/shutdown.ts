/**
 * SIGINT/SIGTERM handling, installed before any command module loads.
 *
 * Commands are imported lazily, so a signal can arrive before a command has
 * set up its own handling; with no handler Node would die by the signal.
 * Long-running commands (watch, record, demo, serve) instead see `stopping`
 * aborted and finish cleanly (a watch loop that starts already aborted ends
 * at once, exit 0); one-shot commands exit with the conventional 128+n.
 */

const ac = new AbortController();

/** Aborted by the first SIGINT or SIGTERM. */
export const stopping: AbortSignal = ac.signal;

const SIGNO = { SIGINT: 2, SIGTERM: 15 } as const;

export function installShutdownHandlers(longRunning: boolean): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (!longRunning || ac.signal.aborted) process.exit(128 + SIGNO[sig]);
      ac.abort(sig);
    });
  }
}
