/**
 * The recorder's timeline: one light sample per --sample period. Unlike a
 * capture it has no stacks; it says how loaded the machine was and, while
 * the load is high enough to matter, which processes had threads in R or D.
 */

import type { ChainLink, Evidence } from './evidence.ts';
import type { Pressure, PressureResource } from './pressure.ts';

/** R and D threads of one process at one sample. */
export interface ProcessCount {
  pid: number;
  comm: string;
  cgroup: string | null;
  r: number;
  d: number;
}

/** The light scan's result: thread states only (stat), no stacks. */
export interface StateScan {
  r: number;
  d: number;
  procs: ProcessCount[];
}

/**
 * Time one process's threads spent off CPU in D within a sample's period,
 * per kernel stack they blocked in (--source bpf, sched_switch tracking).
 */
export interface OffcpuEntry {
  pid: number;
  comm: string;
  cgroup: string | null;
  /** As /proc/PID/stack prints it, innermost first. */
  stack: string[];
  /** Time blocked in D within the period, ms (summed over the process's threads). */
  ms: number;
  /** Blocked intervals that ended within the period. */
  ended: number;
}

export interface TimelineSample {
  /** Wall-clock time of the sample, ms since the epoch. */
  timeMs: number;
  load1: number;
  load5: number;
  load15: number;
  runnable: number | null;
  threads: number | null;
  /** PSI per resource, where /proc/pressure exists. */
  pressure: Partial<Record<PressureResource, Pressure>>;
  /** null when load1 was below the scan level (half the threshold): no per-process data. */
  scan: StateScan | null;
  /**
   * Present when the off-CPU tracking covered the time since the previous
   * sample (or since it started): how long that was, and every process with
   * time blocked in D in it (none: nothing blocked).
   */
  offcpu?: { windowMs: number; entries: OffcpuEntry[] };
  /**
   * Devices, memory stalls and the load-making tasks' cgroup limits over the
   * sample's period; stored only on scanned samples (the load was high).
   */
  evidence?: Evidence;
  /** --source bpf: the sleeping locks D tasks waited for in the period, with their holders. */
  chains?: StoredChain[];
}

/**
 * A wait-for chain link of one sample's period. `key` tells one lock from
 * another within a recording session (an opaque number per lock address:
 * addresses are never stored or printed).
 */
export interface StoredChain extends ChainLink {
  key: string;
  /** Time waited for the lock within the period, ms (waiters = ms / period). */
  wait_ms: number;
}
