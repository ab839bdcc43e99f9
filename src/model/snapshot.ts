/**
 * The loadmon.snapshot/v1 data model: what every collector returns and every
 * formatter consumes. The JSON form is documented in docs/snapshot-schema.md;
 * field names here are the JSON names, so serialising is JSON.stringify.
 */

import type { ChainLink, Evidence } from './evidence.ts';
import type { PressureResource } from './pressure.ts';

export const SNAPSHOT_SCHEMA = 'loadmon.snapshot/v1';

/** R: running or waiting for a CPU. D: uninterruptible and counting toward load. */
export type TaskState = 'R' | 'D';

export type SourceName = 'procfs' | 'kmod' | 'bpf';

export interface TaskSample {
  /** Thread-group id (the process). */
  pid: number;
  /** Thread id: the unit the scheduler (and the load average) counts. */
  tid: number;
  comm: string;
  state: TaskState;
  /** Kernel stack, innermost frame first, as the kernel prints it (`func+0x1a/0x40`). */
  stack: string[];
  wchan: string | null;
  cgroup: string | null;
  /** bpf, D tasks: milliseconds since the task went off CPU (docs/bpf.md). */
  blocked_ms?: number;
  /** bpf with a profile window, R tasks: the most sampled user stack, innermost first, symbolised. */
  user_stack?: string[];
  /** bpf with a profile window, R tasks: on-CPU samples of this thread in the window. */
  samples?: number;
}

export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
  /** Runnable entities at the time of reading (4th field of /proc/loadavg), if known. */
  runnable: number | null;
  /** Threads in the system, if known. */
  threads: number | null;
}

/** The PSI trigger (`--trigger psi:io:some:150ms/1s`) whose kernel event fired the capture. */
export interface PsiTriggerInfo {
  resource: PressureResource;
  /** `some`: at least one task stalled; `full`: all non-idle tasks at once. */
  kind: 'some' | 'full';
  /** Stall time within the window that makes the kernel fire. */
  stall_ms: number;
  window_ms: number;
}

export interface Trigger {
  /** `load1>=threshold`: the load rule; `psi`: a PSI trigger's kernel event (then `psi` says which). */
  reason: 'load1>=threshold' | 'psi';
  /** The absolute threshold compared against load1 (for `psi`: the load rule in force alongside). */
  threshold: number;
  /** The threshold as the user gave it (`3`, `0.75/cpu`). */
  threshold_spec: string;
  load1: number;
  cooldown_ms: number;
  /** 1-based index of this capture within the watch session. */
  capture_index: number;
  /** Only with reason `psi`. */
  psi?: PsiTriggerInfo;
}

export interface CaptureInfo {
  /** Wall-clock time the capture took, in milliseconds. */
  ms: number;
  threads_scanned: number;
  /** Tasks seen in R or D but not reported (kmod: over max_tasks). */
  dropped?: number;
  /** kmod: the module's snapshot sequence number. */
  seq?: number;
  /** bpf: time of the kernel's task-iterator pass alone, in milliseconds. */
  walk_ms?: number;
  /** bpf: length of the on-CPU sampling window after the capture, in milliseconds. */
  profile_ms?: number;
  /**
   * R/D threads of loadmon's own processes (itself, its stack-reader child,
   * its eBPF helper) left out of `tasks`: the observer's load, counted here
   * rather than hidden. Absent when none.
   */
  own_threads?: number;
}

/** One process's time blocked in D in one kernel stack, measured over a recent window. */
export interface BlockedStackRecent {
  pid: number;
  comm: string;
  cgroup: string | null;
  stack: string[];
  blocked_ms: number;
  /** Blockages that ended in the window. */
  ended: number;
}

/**
 * bpf captures of `watch` and `record`: the time blocked in D measured by the
 * sched_switch/sched_wakeup tracking over the window before the capture
 * (every blockage, not only those in progress at the capture instant).
 */
export interface BlockedRecent {
  /** The window actually covered (up to 60 s; less right after the start). */
  window_ms: number;
  /** Mean threads in D over the window: the D part of the load, measured. */
  mean_d: number;
  /** Largest first, at most 10 (the rest is in mean_d). */
  stacks: BlockedStackRecent[];
  /**
   * Wait-for chains over the same window: the sleeping locks threads waited
   * for and who held them, most waiting first. Present when the kernel has
   * the lock tracepoints (5.19+), empty when nothing waited.
   */
  chains?: ChainLink[];
}

export interface Snapshot {
  schema: typeof SNAPSHOT_SCHEMA;
  time: string;
  host: string;
  source: SourceName;
  cpus: number;
  loadavg: LoadAvg;
  trigger: Trigger | null;
  capture: CaptureInfo;
  tasks: TaskSample[];
  notes: string[];
  /** Only with --source bpf in watch and record. */
  blocked_recent?: BlockedRecent;
  /**
   * watch and record: devices, memory stalls and the captured tasks' cgroup
   * limits over the seconds before the capture (src/model/evidence.ts).
   */
  evidence?: Evidence;
}
