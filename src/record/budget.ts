/**
 * The light scan's CPU budget (`--cpu-budget`, percent of one core). A procfs
 * light scan reads one stat per thread: its cost grows with the thread count
 * (6.3% of a core at 5,000 threads, 23% at 20,000 at one scan per second), and
 * it runs exactly while the machine is overloaded. The controller keeps a
 * running average of what a scan costs and scans only every k-th sample, k
 * the smallest stride that keeps average cost / (k x period) within the budget.
 *
 * Pure: the caller measures each scan's CPU time and says when a sample is
 * due; nothing here reads a clock.
 */

/** Weight of the newest measurement in the running average: a few scans settle it, one outlier does not. */
const EWMA_WEIGHT = 0.3;
/**
 * Hysteresis: the stride only comes down when the cost with this margin would
 * still fit at the smaller stride, so a cost near a boundary does not flap.
 */
const DOWN_MARGIN = 1.25;
/** Longest stride: even at a huge thread count a light scan runs at least this often (samples). */
export const MAX_STRIDE = 600;

export interface BudgetOptions {
  /** Percent of one core the light scans may use on average; null: no budget (scan every due sample). */
  budgetPct: number | null;
  sampleMs: number;
}

export class ScanBudget {
  private avgMs: number | null = null;
  private strideNow = 1;
  private skipped = 0;

  constructor(private readonly opts: BudgetOptions) {}

  /** Scan every `stride` samples (1: every sample). */
  get stride(): number {
    return this.strideNow;
  }

  /** The running average CPU time of one scan (ms), null before the first. */
  get costMs(): number | null {
    return this.avgMs;
  }

  /**
   * Whether a sample that wants a scan gets it. A refused one counts toward
   * the next: the stride is the distance between scans, in samples that wanted one.
   */
  take(): boolean {
    if (this.skipped + 1 >= this.strideNow) {
      this.skipped = 0;
      return true;
    }
    this.skipped++;
    return false;
  }

  /** Books the CPU time (ms) one scan took and adjusts the stride. */
  record(cpuMs: number): void {
    const ms = Math.max(0, cpuMs);
    this.avgMs = this.avgMs === null ? ms : this.avgMs + EWMA_WEIGHT * (ms - this.avgMs);
    if (this.opts.budgetPct === null) return;
    const up = strideFor(this.avgMs, this.opts.budgetPct, this.opts.sampleMs);
    if (up > this.strideNow) {
      this.strideNow = up;
      return;
    }
    const down = strideFor(this.avgMs * DOWN_MARGIN, this.opts.budgetPct, this.opts.sampleMs);
    if (down < this.strideNow) this.strideNow = down;
  }
}

/** The smallest stride at which scans costing `costMs` each stay within `budgetPct` of a core. */
export function strideFor(costMs: number, budgetPct: number, sampleMs: number): number {
  const allowedMs = (budgetPct / 100) * sampleMs;
  // A tiny epsilon: 60 ms at 10 ms allowed is a stride of 6, not 7 from rounding.
  const k = Math.ceil(costMs / allowedMs - 1e-9);
  return Math.min(MAX_STRIDE, Math.max(1, k));
}
