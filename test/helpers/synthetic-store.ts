/**
 * The benchmarks' synthetic store (bench/record.ts, bench/serve.ts): days of
 * 1 s samples whose high-load stretches recur, with per-process counts, and
 * evenly spread captures of 40 tasks in three real 6.18 D stacks. One
 * generator, so that both benchmarks measure the same store; the dashboard's
 * browser test reads a small one with PSI captures and thinned samples.
 */

import type { PsiTriggerInfo, Snapshot, Trigger } from '../../src/model/snapshot.ts';
import type { TimelineSample } from '../../src/model/timeline.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { SESSION } from './store.ts';

export const DAY_MS = 86_400_000;

export interface SyntheticStore {
  days: number;
  captures: number;
  /** Fraction of the samples at high load: the first `high` of every 10,000 s. */
  high: number;
  /** Time of the last sample (ms). */
  end: number;
  /** When given, every even-numbered capture was fired by this PSI trigger, not by the load rule. */
  psi?: PsiTriggerInfo;
  /** When given, every `thinEvery`-th high-load sample's scan was skipped by --cpu-budget (stored thinned). */
  thinEvery?: number;
}

const STACKS = [
  ['kernel_clone+0x1d3/0x400', '__do_sys_vfork+0x66/0x90', 'do_syscall_64+0x71/0x290', 'entry_SYSCALL_64_after_hwframe+0x76/0x7e'],
  [
    'io_schedule+0x46/0x70',
    'folio_wait_bit_common+0x13d/0x350',
    'folio_wait_writeback+0x2b/0x80',
    '__filemap_fdatawait_range+0x8d/0xf0',
    'file_write_and_wait_range+0x85/0xb0',
    'ext4_sync_file+0x7a/0x360',
    '__x64_sys_fsync+0x3b/0x70',
    'do_syscall_64+0x71/0x290',
    'entry_SYSCALL_64_after_hwframe+0x76/0x7e',
  ],
  [
    'jbd2_log_wait_commit+0xb2/0x120',
    'jbd2_complete_transaction+0x5a/0x90',
    'ext4_sync_file+0x1c5/0x360',
    '__x64_sys_fsync+0x3b/0x70',
    'do_syscall_64+0x71/0x290',
    'entry_SYSCALL_64_after_hwframe+0x76/0x7e',
  ],
];

/** Sample i (1 s apart): 9 processes in 3 cgroups counted at high load, their pids renewed every 50,000 s. */
function syntheticSample(i: number, t: number, high: boolean): TimelineSample {
  const load1 = high ? 6 + (i % 7) / 10 : 0.3;
  const psi = (avg10: number, avg: number, totalUs: number) => ({ avg10, avg60: avg, avg300: avg, totalUs });
  return {
    timeMs: t,
    load1,
    load5: load1,
    load15: load1,
    runnable: high ? 3 : 1,
    threads: 800,
    pressure: {
      cpu: { some: psi(high ? 40 : 0.5, 1, i * 1000), full: psi(0, 0, 0) },
      io: { some: psi(high ? 20 : 0, 1, i * 300), full: psi(0, 0, i * 100) },
      memory: { some: psi(0, 0, 0), full: psi(0, 0, 0) },
    },
    scan: high
      ? {
          r: 3,
          d: 6,
          procs: Array.from({ length: 9 }, (_, k) => ({
            pid: 1000 + k + Math.floor(i / 50_000) * 10,
            comm: `worker-${k}`,
            cgroup: `/system.slice/app${k % 3}.service`,
            r: k < 3 ? 1 : 0,
            d: k < 3 ? 0 : 1,
          })),
        }
      : null,
  };
}

/** The rule that fired capture n: the load threshold, or (even n, when given) the PSI trigger. */
function syntheticTrigger(n: number, psi: PsiTriggerInfo | undefined): Trigger {
  const load: Trigger = { reason: 'load1>=threshold', threshold: 3, threshold_spec: '3', load1: 6.5, cooldown_ms: 20000, capture_index: n };
  return psi && n % 2 === 0 ? { ...load, reason: 'psi', psi } : load;
}

/** Capture number n at t: 6 R and 34 D tasks of 9 processes. */
function syntheticCapture(n: number, t: number, psi?: PsiTriggerInfo): Snapshot {
  return {
    schema: 'loadmon.snapshot/v1',
    time: new Date(t).toISOString(),
    host: 'bench',
    source: 'procfs',
    cpus: 2,
    loadavg: { load1: 6.5, load5: 4, load15: 2, runnable: 6, threads: 800 },
    trigger: syntheticTrigger(n, psi),
    capture: { ms: 12, threads_scanned: 800 },
    tasks: Array.from({ length: 40 }, (_, k) => ({
      pid: 1000 + (k % 9),
      tid: 1000 + k,
      comm: `worker-${k % 9}`,
      state: k < 6 ? 'R' : 'D',
      stack: k < 6 ? [] : STACKS[k % 3]!,
      wchan: k < 6 ? null : 'io_schedule',
      cgroup: `/system.slice/app${k % 3}.service`,
    })),
    notes: [],
  };
}

/** Writes the store into `path` (a new file). */
export function writeSyntheticStore(path: string, o: SyntheticStore): void {
  const start = o.end - o.days * DAY_MS;
  const w = StoreWriter.open(path, start);
  w.beginSession({ ...SESSION, startedMs: start, host: 'bench' });
  const every = Math.max(1, Math.floor((o.days * 86_400) / o.captures));
  let n = 0;
  for (let i = 0, t = start; t <= o.end; i++, t += 1000) {
    const high = i % 10_000 < o.high * 10_000;
    const thinned = high && o.thinEvery !== undefined && i % o.thinEvery === 0;
    w.insertSample(thinned ? { ...syntheticSample(i, t, high), scan: null, thinned } : syntheticSample(i, t, high));
    if (i % every === 0 && n < o.captures) w.insertCapture(syntheticCapture(++n, t, o.psi));
  }
  w.close();
}
