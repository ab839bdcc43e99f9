/**
 * The watch loop: poll a Watcher every interval until stopped or until
 * `count` snapshots were emitted. A Watcher decides by itself when there is
 * something to emit: the procfs one applies the threshold and cooldown, the
 * kmod one reports each new snapshot the module made.
 */

import type { Snapshot } from '../model/snapshot.ts';

/** Where status lines for people go (the CLI: stderr, escaped). */
export type StatusLog = (line: string) => void;

export interface Watcher {
  /** Called at every check; resolves with a snapshot when one is due. */
  poll(nowMs: number): Snapshot | null | Promise<Snapshot | null>;
  /** Milliseconds until the next check (default: the interval). */
  nextDelay?(nowMs: number): number;
  /** Event-driven watchers (PSI) get a function that asks for a check now. */
  onWake?(wake: () => void): void;
  close(): void;
}

export interface WatchLoopOptions {
  intervalMs: number;
  count?: number | undefined;
  signal: AbortSignal;
  now?: () => number;
}

/** Resolves with the number of snapshots emitted. Rejects if a poll throws. */
export function runWatch(w: Watcher, opts: WatchLoopOptions, emit: (s: Snapshot) => void): Promise<number> {
  const now = opts.now ?? (() => performance.now());
  let emitted = 0;
  return new Promise<number>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const schedule = (): void => {
      if (done) return;
      const delay = w.nextDelay ? w.nextDelay(now()) : opts.intervalMs;
      timer = setTimeout(tick, Math.max(0, delay));
    };
    let busy = false;
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      w.close();
      if (err === undefined) resolve(emitted);
      else reject(err);
    };
    const onAbort = (): void => finish();
    const deliver = (s: Snapshot | null): void => {
      busy = false;
      if (s && !done) {
        emit(s);
        emitted++;
        if (opts.count !== undefined && emitted >= opts.count) finish();
      }
      schedule();
    };
    const fail = (err: unknown): void => {
      busy = false;
      finish(err);
    };
    // The common "nothing to do" case stays synchronous, with no promise
    // allocated. The next check is scheduled only once a capture has been
    // emitted, so captures never overlap.
    const tick = (): void => {
      if (busy || done) return;
      let r: ReturnType<Watcher['poll']>;
      try {
        r = w.poll(now());
      } catch (err) {
        fail(err);
        return;
      }
      if (r === null) {
        schedule();
        return;
      }
      busy = true;
      Promise.resolve(r).then(deliver, fail);
    };
    if (opts.signal.aborted) return finish();
    opts.signal.addEventListener('abort', onAbort);
    // An event between checks: check now. During a capture the watcher keeps
    // the event and the gate decides at the next check.
    w.onWake?.(() => {
      if (busy || done) return;
      if (timer) clearTimeout(timer);
      tick();
    });
    // The first check happens at start, not one interval later.
    tick();
  });
}
