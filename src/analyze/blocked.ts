/**
 * Time blocked in D over a period, measured (not sampled): the recorder's
 * --source bpf samples carry, per process and kernel stack, the time its
 * threads spent blocked in D (from going off CPU to being woken: exactly
 * the time the load average counts them as D). Over the time the tracking
 * covered, a process's blocked time divided by that time is the mean number
 * of its threads in D -- its D share of the average load, with no sampling
 * error, including blockages far shorter than a sample period. The same
 * holds per stack: which kernel code path the D part of the load sat in.
 */

import { getOrCreate } from '../model/maps.ts';
import type { BlockedProcess, BlockedStack, BlockedTime } from '../model/report.ts';
import type { OffcpuTotal } from '../store/reader.ts';
import { type CauseId, classifyStack } from './causes.ts';
import type { Relabel } from './limits.ts';
import { normalizeStack } from './stacks.ts';

/** A stack's processes listed in the report. */
const MAX_STACK_PROCESSES = 5;

/** Coverage (share of the period's time tracked) from which the measured D replaces the sampled one. */
export const MEASURED_D_COVERAGE = 0.99;

/**
 * Untracked time tolerated at a period's edges whatever its length: below
 * the scan level one tracking read covers a batch of 10 rows (10 s), so a
 * period that ends inside a batch misses that batch's time (read after the
 * period's end), and a recording's first row has no second before it.
 */
export const MEASURED_D_EDGE_MS = 10_000;

/**
 * Whether the tracking covered the period well enough for the measured D to
 * replace the sampled one: at least MEASURED_D_COVERAGE of its time, or all
 * but the edges (MEASURED_D_EDGE_MS). A gap in the middle (the helper gone)
 * counts against it like any untracked time.
 */
export function coversPeriod(b: BlockedTime, periodMs: number): boolean {
  return b.coverage >= MEASURED_D_COVERAGE || Math.round((1 - b.coverage) * periodMs) <= MEASURED_D_EDGE_MS;
}

/**
 * Why a process was blocked in D in one kernel stack: the stack's cause
 * (causes.ts), re-labelled `cgroup` where the evidence shows the process's
 * own cgroup limit holding it back (limits.ts), as the verdict counts it.
 * The one rule for measured blocked time: the report, the pprof export and
 * /metrics all label it with this.
 */
export function blockedCause(e: { pid: number; stack: readonly string[] }, relabel: Relabel | null): { frames: string[]; cause: CauseId } {
  const frames = normalizeStack(e.stack);
  const cause = classifyStack(frames).cause;
  return { frames, cause: relabel ? relabel(e.pid, cause, frames) : cause };
}

export function blockedTime(
  totals: readonly OffcpuTotal[],
  covered: { samples: number; ms: number },
  periodMs: number,
  top: number,
  relabel: Relabel | null = null,
): BlockedTime | null {
  if (covered.samples === 0 || covered.ms <= 0) return null;
  const seconds = covered.ms / 1000;
  const procs = new Map<string, BlockedProcess>();
  const stacks = new Map<string, BlockedStack & { pids: Map<number, { pid: number; comm: string; ms: number }> }>();
  let totalMs = 0;
  for (const t of totals) {
    totalMs += t.ms;
    const pkey = `${t.pid}\0${t.comm}\0${t.cgroup ?? ''}`;
    const p = getOrCreate(procs, pkey, () => ({ pid: t.pid, comm: t.comm, cgroup: t.cgroup, blocked_s: 0, mean_d: 0, intervals: 0 }));
    p.blocked_s += t.ms / 1000;
    p.intervals += t.ended;

    const { frames, cause } = blockedCause(t, relabel);
    const skey = `${cause}\n${frames.join('\n')}`;
    const s = getOrCreate(stacks, skey, () => ({ frames, cause, blocked_s: 0, mean_d: 0, intervals: 0, processes: [], pids: new Map() }));
    s.blocked_s += t.ms / 1000;
    s.intervals += t.ended;
    const sp = s.pids.get(t.pid) ?? { pid: t.pid, comm: t.comm, ms: 0 };
    sp.ms += t.ms;
    s.pids.set(t.pid, sp);
  }
  const processes = [...procs.values()].map((p) => ({ ...p, mean_d: p.blocked_s / seconds })).sort((a, b) => b.blocked_s - a.blocked_s);
  const byComm = new Map<string, BlockedTime['commands'][number]>();
  for (const p of processes) {
    const c = byComm.get(p.comm) ?? { comm: p.comm, processes: 0, blocked_s: 0, mean_d: 0, intervals: 0 };
    c.processes++;
    c.blocked_s += p.blocked_s;
    c.mean_d += p.mean_d;
    c.intervals += p.intervals;
    byComm.set(p.comm, c);
  }
  const commands = [...byComm.values()].sort((a, b) => b.blocked_s - a.blocked_s);
  const stackList = [...stacks.values()]
    .map(({ pids, ...s }) => ({
      ...s,
      mean_d: s.blocked_s / seconds,
      processes: [...pids.values()]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, MAX_STACK_PROCESSES)
        .map((x) => ({ pid: x.pid, comm: x.comm, blocked_s: x.ms / 1000 })),
      distinct_processes: pids.size,
    }))
    .sort((a, b) => b.blocked_s - a.blocked_s);
  return {
    method:
      'time from going off CPU in D to the wakeup, per process and kernel stack (eBPF sched_switch and sched_wakeup); see docs/bpf.md',
    covered_s: seconds,
    // By time, not samples: below the scan level one tracked row covers a whole batch (docs/store.md).
    // A window reaches back before the period's first row: capped at the whole period.
    coverage: periodMs > 0 ? Math.min(1, covered.ms / periodMs) : 0,
    blocked_s: totalMs / 1000,
    mean_d: totalMs / 1000 / seconds,
    processes: processes.slice(0, top),
    commands: commands.slice(0, top),
    stacks: stackList.slice(0, top),
  };
}
