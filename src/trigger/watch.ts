/**
 * The watch loop: poll a Watcher every interval until stopped or until
 * `count` snapshots were emitted. A Watcher decides by itself when there is
 * something to emit: the procfs one applies the threshold and cooldown, the
 * kmod one reports each new snapshot the module made.
 */

import type { Snapshot } from '../model/snapshot.ts';

export interface Watcher {
  /** Called every interval; resolves with a snapshot when one is due. */
  poll(nowMs: number): Snapshot | null | Promise<Snapshot | null>;
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
    let busy = false;
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      if (timer) clearInterval(timer);
      opts.signal.removeEventListener('abort', onAbort);
      w.close();
      if (err === undefined) resolve(emitted);
      else reject(err);
    };
    const onAbort = (): void => finish();
    const tick = (): void => {
      // A capture can outlast the interval: never start a second one beside it.
      if (busy || done) return;
      busy = true;
      Promise.resolve()
        .then(() => w.poll(now()))
        .then((s) => {
          busy = false;
          if (!s || done) return;
          emit(s);
          emitted++;
          if (opts.count !== undefined && emitted >= opts.count) finish();
        })
        .catch((err: unknown) => {
          busy = false;
          finish(err);
        });
    };
    if (opts.signal.aborted) return finish();
    opts.signal.addEventListener('abort', onAbort);
    timer = setInterval(tick, opts.intervalMs);
    // The first check happens at start, not one interval later.
    tick();
  });
}
