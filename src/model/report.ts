/**
 * The loadmon.report/v1 object: what `report --format json` prints and every
 * report format is rendered from. docs/store.md documents it.
 */

import type { CauseId } from './cause.ts';
import type { CgroupLimitEvidence, ChainLink, DeviceEvidence, MemoryEvidence } from './evidence.ts';
import type { TaskState, Trigger } from './snapshot.ts';

export const REPORT_SCHEMA = 'loadmon.report/v1';

// The analysis's own types (analyze/ computes them, format/ and web/ render them) live here,
// below every layer that uses them.

export interface TaskRef {
  pid: number;
  tid: number;
  comm: string;
  cgroup: string | null;
}

export interface StackAggregate {
  state: TaskState;
  /** Normalised frames, innermost first (empty: no kernel stack, e.g. a task running on a CPU). */
  frames: string[];
  /** D: why it waits. R: the wait it was just woken from, or the reclaim it was preempted in ('unknown': CPU demand, or no stack). */
  cause: CauseId;
  /** Task observations: one per task per capture. */
  count: number;
  /** Distinct tasks (by tid), at most MAX_TASK_REFS kept. */
  tasks: TaskRef[];
  distinct_tasks: number;
  captures: number[];
}

/** A cgroup limit over the period: the last sample's figures, and how often the limit bit. */
export interface PeriodCgroupLimit extends CgroupLimitEvidence {
  /** Share of the samples (those that saw this cgroup) in which the limit bit, 0..1. */
  at_limit_share: number;
  /** Load-making processes seen in it. */
  pids: number[];
}

export interface PeriodEvidence {
  samples: number;
  /** Mean figures per device over all samples (a sample without I/O on it counts as idle), busiest first. */
  devices: DeviceEvidence[];
  memory: MemoryEvidence | null;
  /** Limits that bit in at least one sample first, then by how often. */
  cgroups: PeriodCgroupLimit[];
}

export interface VerdictEvidence {
  /** Normalised stacks, innermost first, with their task observations. */
  stacks: Array<{ frames: string[]; count: number }>;
  tasks: TaskRef[];
  captures: number[];
  /** Lock waits: who holds the lock, and what the holder itself waits for (--source bpf). */
  chain?: ChainLink[];
  /** Block devices behind an I/O cause: utilisation, time per request, requests in flight. */
  devices?: Array<Pick<DeviceEvidence, 'name' | 'util' | 'await_ms' | 'in_flight'> & Partial<DeviceEvidence>>;
  /** Cgroups whose own limit held the tasks back. */
  cgroups?: Array<{ path: string; limit: 'memory' | 'io' | 'cpu'; detail: string }>;
  /** Mean R threads counted in this line: woken from its wait, waiting for a CPU. */
  woken_r?: number;
}

export interface VerdictLine {
  kind: 'cpu-saturation' | 'uninterruptible' | 'no-overload';
  cause: CauseId | null;
  /** Mean threads behind this line (its share of the load). */
  share: number;
  text: string;
  evidence: VerdictEvidence;
}

export interface VerdictInput {
  cpus: number;
  /** Mean R and D threads while the load was high; null when nothing was measured. */
  meanR: number | null;
  meanD: number | null;
  maxLoad1: number | null;
  threshold: number | null;
  /** The top R processes by contribution (for R evidence: running tasks have no stack). */
  topR: TaskRef[];
  /** Stacks of the captures: D by cause, R by the wait they were woken from ('unknown': CPU demand). */
  stacks: readonly StackAggregate[];
  /** Measured time blocked in D per stack over the period (--source bpf); preferred to the captures' stacks. */
  blocked?: readonly BlockedStack[];
  /** Devices, memory stalls and cgroup limits over the high-load samples. */
  evidence?: PeriodEvidence | null;
  /** Wait-for chains over the period (--source bpf). */
  chains?: readonly ChainLink[];
  /** Peak PSI avg10 (%) of the period. */
  pressure?: { io_full?: number | null; memory_full?: number | null };
}

export interface ReportCapture {
  id: number;
  time: string;
  source: string;
  load1: number;
  r: number;
  d: number;
  /** The rule that fired it, as its snapshot holds it: the load threshold or a PSI trigger (null: none stored). */
  trigger: Trigger | null;
  /** The light samples of the 60 s before it. */
  context: { from: string; samples: number; scanned: number; max_load1: number | null };
}

export interface ReportLoad {
  samples: number;
  first: string;
  last: string;
  min: number;
  avg: number;
  max: number;
  above_threshold_s: number;
  /** Time covered by the samples (count x sample period). */
  sampled_s: number;
  scanned_samples: number;
  /** Samples whose due light scan --cpu-budget skipped (their R/D counts are the nearest scan's). */
  thinned_samples: number;
  /** The most thinned samples in a row: the budget scanned 1 in (this + 1) at the worst. */
  thinned_longest_run: number;
  /** Mean R and D threads per sample over the whole period (0 where not scanned). */
  mean_r: number;
  mean_d: number;
}

export interface Contribution {
  /** "pid 412 (comm)", a cgroup path, or "R"/"D". */
  key: string;
  pid?: number;
  comm?: string;
  cgroup?: string | null;
  r: number;
  d: number;
  total: number;
}

export interface LoadAttribution {
  /** Time of the last sample replayed, ms. */
  at_ms: number;
  /** The kernel's load1 in that sample. */
  kernel_load1: number;
  /** Sum of everything below: the replay's load1. */
  model_load1: number;
  processes: Contribution[];
  cgroups: Contribution[];
  states: { R: number; D: number };
  /** Load left over from before the replay window, decayed. */
  before_window: number;
  /** Load from updates whose sample had no per-process scan (estimated from the kernel's step). */
  not_scanned: number;
  updates: number;
}

export interface MeanAttribution {
  samples: number;
  /**
   * Where the D shares come from: the samples' D counts, or the measured time
   * blocked in D (`blocked`, --source bpf) when it covered the whole period.
   */
  d_from: 'samples' | 'blocked_time';
  load1_avg: number;
  processes: Contribution[];
  cgroups: Contribution[];
  states: { R: number; D: number };
  /** Average load not explained by the scanned counts (unscanned time, tasks between samples). */
  unattributed: number;
}

export interface BlockedProcess {
  pid: number;
  comm: string;
  cgroup: string | null;
  /** Time its threads spent blocked in D, summed. */
  blocked_s: number;
  /** blocked_s / covered_s: its mean number of threads in D, its D share of the average load. */
  mean_d: number;
  /** Blocked intervals that ended in the period. */
  intervals: number;
}

export interface BlockedStack {
  frames: string[];
  cause: CauseId;
  blocked_s: number;
  mean_d: number;
  intervals: number;
  /** The processes that blocked there most. */
  processes: Array<{ pid: number; comm: string; blocked_s: number }>;
  distinct_processes?: number;
}

/** Time blocked in D, measured by --source bpf's off-CPU tracking (null when the period has none). */
export interface BlockedTime {
  method: string;
  /** Time the tracking covered within the period (the sum of its windows). */
  covered_s: number;
  /** Share of the period's time that the tracking covered, capped at 1 (analyze/blocked.ts). */
  coverage: number;
  blocked_s: number;
  /** Mean threads in D over the covered time: the D part of the average load, measured. */
  mean_d: number;
  processes: BlockedProcess[];
  /**
   * The same by command (comm): a job that forks short-lived processes (a
   * backup running dd after dd) is one row here, not hundreds of pids.
   */
  commands: Array<{ comm: string; processes: number; blocked_s: number; mean_d: number; intervals: number }>;
  stacks: BlockedStack[];
}

export interface ReportStack extends StackAggregate {
  cause: CauseId;
  /** Mean tasks in this stack per capture. */
  share: number;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  store: string;
  period: { from: string | null; to: string | null };
  host: string | null;
  cpus: number | null;
  threshold: number | null;
  load: ReportLoad | null;
  pressure_peak_avg10: Record<string, number | null>;
  captures: ReportCapture[];
  verdict: VerdictLine[];
  attribution: {
    method: string;
    at_end: LoadAttribution | null;
    mean: MeanAttribution | null;
  };
  stacks: ReportStack[];
  blocked: BlockedTime | null;
  /**
   * Evidence beyond stacks over the high-load samples (devices, memory
   * stalls, cgroup limits) and the period's wait-for chains (--source bpf);
   * null when the store has none (written before schema v3, or never high).
   */
  evidence: (PeriodEvidence & { chains: ChainLink[] }) | null;
}
