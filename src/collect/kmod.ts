/**
 * The kmod collector: reads the snapshots the load_monitor kernel module
 * made (it does its own triggering, in kernel, at hrtimer precision) from
 * /proc/load_monitor, or from DIR/load_monitor with --proc-root DIR.
 */

import { hostname } from 'node:os';

import { isDenied, kmodError, procUnreadable, sourceUnavailable } from '../errors.ts';
import { type KmodSnapshot, parseLoadMonitor } from '../kmod/format.ts';
import { SNAPSHOT_SCHEMA, type Snapshot, type TaskSample, type Trigger } from '../model/snapshot.ts';
import { COMM_MAX_BYTES, capBytes, FILE_CAP, FRAME_MAX_BYTES } from '../procfs/limits.ts';
import { readerFor } from '../procfs/reader.ts';
import type { CaptureOptions, Collector } from './collector.ts';
import { ownPids, ownThreadsField } from './self.ts';

export const NO_KMOD_SNAPSHOT =
  'the load_monitor module has made no snapshot yet (it captures when load1 reaches its threshold; ' +
  'see /sys/module/load_monitor/parameters/threshold)';

export function kmodPath(procRoot: string): string {
  return `${procRoot.replace(/\/+$/, '')}/load_monitor`;
}

export class KmodCollector implements Collector {
  readonly source = 'kmod' as const;
  readonly path: string;

  constructor(procRoot = '/proc') {
    this.path = kmodPath(procRoot);
  }

  /** Every snapshot the module keeps, oldest first. */
  readAll(): KmodSnapshot[] {
    let text: string;
    try {
      // Bounded like every proc read (limits.ts); the reader is made per call: this buffer can be large.
      text = readerFor(this.path.replace(/\/[^/]*$/, '') || '/').readText(this.path, FILE_CAP.kmod);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw sourceUnavailable('kmod', `${this.path} does not exist: load the module first (loadmon kmod load)`);
      }
      if (isDenied(err)) throw sourceUnavailable('kmod', `${this.path} is readable by root only`);
      throw procUnreadable(this.path, err);
    }
    return parseLoadMonitor(text);
  }

  capture(opts: CaptureOptions): Promise<Snapshot> {
    try {
      return Promise.resolve(this.captureSync(opts));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  close(): void {}

  private captureSync(opts: CaptureOptions): Snapshot {
    const all = this.readAll();
    const newest = all[all.length - 1];
    if (!newest) throw kmodError(NO_KMOD_SNAPSHOT);
    const snap = kmodToSnapshot(newest, opts.trigger ?? null, opts.depth);
    const ageS = Math.round((Date.now() - Date.parse(snap.time)) / 1000);
    if (ageS >= 2) {
      snap.notes.push(`the module took this snapshot ${ageS}s ago (seq ${newest.seq}); it captures only when load1 reaches its threshold`);
    }
    return snap;
  }
}

/**
 * One of the module's snapshots as a loadmon snapshot. loadmon's own
 * processes (`own`, self.ts) are left out and counted like the other
 * collectors do; comm and frames are cut like procfs's (limits.ts).
 */
export function kmodToSnapshot(k: KmodSnapshot, trigger: Trigger | null, depth = k.depth, own: ReadonlySet<number> = ownPids()): Snapshot {
  const notes: string[] = [];
  if (k.dropped > 0) {
    notes.push(`${k.dropped} R/D task(s) were seen but not stored: the module's max_tasks was reached`);
  }
  const tasks: TaskSample[] = [];
  let selfThreads = 0;
  for (const t of k.tasks) {
    if (own.has(t.pid)) {
      selfThreads++;
      continue;
    }
    tasks.push({
      pid: t.pid,
      tid: t.tid,
      comm: capBytes(t.comm, COMM_MAX_BYTES),
      state: t.state,
      stack: t.stack.slice(0, depth).map((f) => capBytes(f, FRAME_MAX_BYTES)),
      wchan: null,
      cgroup: null,
    });
  }
  return {
    schema: SNAPSHOT_SCHEMA,
    time: new Date(Number(k.timeNs / 1_000_000n)).toISOString(),
    host: hostname(),
    source: 'kmod',
    cpus: k.cpus,
    loadavg: { load1: k.load1, load5: k.load5, load15: k.load15, runnable: k.running, threads: k.threads },
    trigger,
    capture: {
      ms: Math.round(k.walkNs / 10_000) / 100,
      threads_scanned: k.threads,
      dropped: k.dropped,
      seq: k.seq,
      ...ownThreadsField(selfThreads),
    },
    tasks,
    notes,
  };
}
