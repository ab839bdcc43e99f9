/**
 * The loadmon.report/v1 object: what `report --format json` prints and every
 * report format is rendered from. docs/store.md documents it.
 */

import type { Contribution, LoadAttribution } from '../analyze/attribution.ts';
import type { CauseId } from '../analyze/causes.ts';
import type { StackAggregate } from '../analyze/stacks.ts';
import type { VerdictLine } from '../analyze/verdict.ts';
import type { PeriodEvidence } from '../analyze/evidence.ts';
import type { ChainLink } from './evidence.ts';

export const REPORT_SCHEMA = 'loadmon.report/v1';

export interface ReportCapture {
  id: number;
  time: string;
  source: string;
  load1: number;
  r: number;
  d: number;
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
  /** Mean R and D threads per sample over the whole period (0 where not scanned). */
  mean_r: number;
  mean_d: number;
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
  /** Time the tracking covered within the period (samples x sample period). */
  covered_s: number;
  /** Share of the period's samples that the tracking covered. */
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
