/**
 * The loadmon.report/v1 object: what `report --format json` prints and every
 * report format is rendered from. docs/store.md documents it.
 */

import type { Contribution, LoadAttribution } from '../analyze/attribution.ts';
import type { CauseId } from '../analyze/causes.ts';
import type { StackAggregate } from '../analyze/stacks.ts';
import type { VerdictLine } from '../analyze/verdict.ts';

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
  load1_avg: number;
  processes: Contribution[];
  cgroups: Contribution[];
  states: { R: number; D: number };
  /** Average load not explained by the scanned counts (unscanned time, tasks between samples). */
  unattributed: number;
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
}
