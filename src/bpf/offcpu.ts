/**
 * Time blocked in D per sample window, from the helper's sched_switch
 * tracking (bpf/loadmon.bpf.c, on_switch).
 *
 * The kernel side only knows whole intervals: it adds an interval's length
 * to its (thread, stack) sum when the thread is woken. A sample window wants
 * the time blocked *within* it: interval-ledger.ts credits open intervals
 * up to each read and settles their sums later.
 *
 * Intervals that began before tracking started are not in the kernel's
 * lists at all; the sampler's own task-iterator pass sees those threads in D
 * with their blocked time, and they are credited from there.
 *
 * Pure: everything comes in as arguments, so it is tested on sequences of
 * reads (test/unit/offcpu.test.ts).
 */

import { IntervalLedger } from './interval-ledger.ts';
import type { KernelSymbols } from './kallsyms.ts';
import type { OffcpuInterval, OffcpuOpen, OffcpuSum } from './protocol.ts';

/** Time a thread spent blocked in D within one window, with the stack it blocked in. */
export interface OffcpuShare {
  tid: number;
  pid: number;
  comm: string;
  /** kernfs id of the cgroup v2, or null when it came from the iterator pass (then `cgroups` of the task apply). */
  cgroup: bigint | null;
  /** Raw return addresses; `fromSwitch` says whether they were taken at switch-out (scheduler frames included). */
  stack: bigint[];
  fromSwitch: boolean;
  ns: number;
  /** Intervals that ended in the window. */
  ended: number;
}

/** A thread in D as the sampler's iterator pass saw it. */
export interface BlockedThread {
  tid: number;
  pid: number;
  comm: string;
  stack: bigint[];
  blockedNs: number;
}

export interface OffcpuReadLike {
  sums: readonly OffcpuSum[];
  open: readonly OffcpuOpen[];
  nowNs: number;
}

/** A pass and a read taken this far apart still describe the same moment. */
const SAME_MOMENT_NS = 50e6;

export class OffcpuAccount {
  private readonly ledger = new IntervalLedger();
  /** Threads blocked since before tracking started, credited from the iterator pass. */
  private readonly legacy = new Set<number>();
  private lastNs: number;

  /** `startNs`: the CLOCK_MONOTONIC time the sched_switch program was attached. */
  constructor(private readonly startNs: number) {
    this.lastNs = startNs;
  }

  /** CLOCK_MONOTONIC ns of the last read (the start of the next window). */
  get lastReadNs(): number {
    return this.lastNs;
  }

  /**
   * The window (previous read, this read]: every thread's D time in it.
   * `blocked`: the D threads of an iterator pass taken at about the same time (or null).
   */
  window(read: OffcpuReadLike, blocked: readonly BlockedThread[] | null): OffcpuShare[] {
    const now = read.nowNs;
    const out = new Map<string, OffcpuShare>();
    const add = (iv: OffcpuInterval, fromSwitch: boolean, ns: number, ended: number, cgroup: bigint | null): void => {
      if (ns <= 0 && ended === 0) return;
      const key = `${iv.tid}\0${fromSwitch ? 's' : 't'}\0${iv.stack.join(',')}`;
      const e = out.get(key);
      if (e) {
        e.ns += Math.max(0, ns);
        e.ended += ended;
      } else {
        out.set(key, { tid: iv.tid, pid: iv.pid, comm: iv.comm, cgroup, stack: iv.stack, fromSwitch, ns: Math.max(0, ns), ended });
      }
    };

    // Open intervals: credit up to now what has not been credited yet.
    for (const { interval: o, ns } of this.ledger.credit(
      read.open,
      now,
      (o) => String(o.startNs),
      (o) => sumKey(o.tid, o.stack),
    )) {
      add(o, true, ns, 0, o.cgroup);
    }
    // Completed intervals, less what was credited while they were open.
    for (const s of read.sums) add(s, true, this.ledger.settle(sumKey(s.tid, s.stack), s.ns), s.count, s.cgroup);
    this.ledger.endRead();

    // Blocked since before tracking started: the kernel side never saw them go off CPU.
    const stillLegacy = new Set<number>();
    for (const b of blocked ?? []) {
      if (this.ledger.isOpen(b.tid)) continue;
      const began = now - b.blockedNs;
      if (!this.legacy.has(b.tid) && began > this.startNs - SAME_MOMENT_NS) continue;
      stillLegacy.add(b.tid);
      add({ ...b, cgroup: 0n }, false, Math.min(b.blockedNs, now - this.lastNs), 0, null);
    }
    this.legacy.clear();
    for (const t of stillLegacy) this.legacy.add(t);

    this.lastNs = now;
    return [...out.values()];
  }
}

function sumKey(tid: number, stack: readonly bigint[]): string {
  return `${tid}\0${stack.join(',')}`;
}

/**
 * The scheduler core: every sleep passes through these, so they say nothing
 * about what the task waits for (kernel/sched/core.c: __schedule, schedule,
 * schedule_idle, schedule_preempt_disabled, schedule_rtlock, __cond_resched
 * and the preempt_schedule* entries with the x86 thunks; kernel/time:
 * schedule_timeout, the bare sleep under io_schedule_timeout,
 * wait_for_completion*_timeout, msleep). kernel/sched/core.c checked in the
 * 5.10, 6.1 and 6.12 sources (5.10 has _cond_resched, no schedule_rtlock);
 * every name against 6.18's scheduler text in kallsyms.
 * Every other scheduler/lock-text frame names the sleeping primitive
 * (io_schedule, rwsem_down_write_slowpath, __mutex_lock, bit_wait_io, ...).
 */
const SCHED_CORE = new Set([
  '__schedule',
  'schedule',
  'schedule_idle',
  'schedule_preempt_disabled',
  'schedule_rtlock',
  '__cond_resched',
  '_cond_resched',
  'schedule_timeout',
]);

export function isSchedCore(symbol: string): boolean {
  return SCHED_CORE.has(symbol) || symbol.startsWith('preempt_schedule');
}

/** A switch-out stack as kept: return addresses, and which are scheduler/lock-text frames. */
export interface SwitchStack {
  stack: bigint[];
  /** Parallel to `stack`: true for a frame /proc/PID/stack would hide (marked ` [sched]` once symbolised). */
  sched: boolean[];
}

/**
 * A stack taken at switch-out, trimmed to where the task's own wait begins:
 * the frames of the BPF program and the tracepoint come before the
 * scheduler's (everything above the first scheduler frame is dropped), then
 * the scheduler core (isSchedCore). The remaining scheduler and lock-text
 * frames -- the ones the kernel's stack_trace_save_tsk() leaves out of
 * /proc/PID/stack (in_sched_functions) -- stay in place, flagged, because
 * they say what the task waits for. Without the section markers in kallsyms
 * nothing can be told apart and the stack is returned as is.
 */
export function switchStackFrames(
  stack: readonly bigint[],
  syms: Pick<KernelSymbols, 'inSchedFunctions' | 'knowsSchedText' | 'lookup'>,
): SwitchStack {
  const none = (): SwitchStack => ({ stack: [...stack], sched: stack.map(() => false) });
  if (!syms.knowsSchedText) return none();
  const first = stack.findIndex((a) => syms.inSchedFunctions(a));
  if (first < 0) return none();
  const out: SwitchStack = { stack: [], sched: [] };
  for (const a of stack.slice(first)) {
    const sched = syms.inSchedFunctions(a);
    if (sched && isSchedCore(symbolOf(syms.lookup(a)))) continue;
    out.stack.push(a);
    out.sched.push(sched);
  }
  return out;
}

/** "schedule+0x23/0xa0" -> "schedule". */
function symbolOf(frame: string | null): string {
  if (frame === null) return '';
  const plus = frame.indexOf('+');
  return plus < 0 ? frame : frame.slice(0, plus);
}
