/**
 * The recorder's CPU budget (`--cpu-budget`, percent of one core). A procfs
 * light scan reads one stat per thread: its cost grows with the thread count
 * (6.3% of a core at 5,000 threads, 23% at 20,000 at one scan per second), and
 * it runs exactly while the machine is overloaded. The controller keeps a
 * running average of what a scan costs and of what the rest of the recorder
 * costs (the watch loop, the sample's other reads, the store writes, GC), and
 * scans only every k-th sample, k the smallest stride with
 * rest + scan / (k x period) within the budget: the whole recorder, not only
 * the scan, stays inside it. The rest includes what a scanned sample adds
 * besides the scan (its per-process rows, its evidence) at the current
 * stride, so the stride settles where the scans and their write-back fit.
 *
 * Pure: the caller measures the CPU times and says when a sample is due;
 * nothing here reads a clock.
 */

/** Weight of the newest measurement in the running average: a few scans settle it, one outlier does not. */
const EWMA_WEIGHT = 0.3;
/** The rest of the recorder is steady but for GC pauses: a slower average, so one pause does not thin the scans. */
const REST_WEIGHT = 0.1;
/**
 * Hysteresis: the stride only comes down when the cost with this margin would
 * still fit at the smaller stride, so a cost near a boundary does not flap.
 */
const DOWN_MARGIN = 1.25;
/** Longest stride: even at a huge thread count a light scan runs at least this often (samples). */
export const MAX_STRIDE = 600;
/**
 * The scans' least share of the budget: when the rest alone nearly fills it
 * (a tiny budget, a slow machine) the scans still get this much, so the
 * timeline keeps some per-process rows; the total then exceeds the budget by
 * at most the rest's overshoot.
 */
export const MIN_SCAN_SHARE = 0.25;

export interface BudgetOptions {
  /** Percent of one core the light scans may use on average; null: no budget (scan every due sample). */
  budgetPct: number | null;
  sampleMs: number;
}

/** CPU the process used over one period between two samples. */
export interface PeriodCost {
  cpuMs: number;
  wallMs: number;
}

export class ScanBudget {
  private avgMs: number | null = null;
  /** The rest of the recorder's CPU, percent of a core (running average); 0 before it is measured. */
  private restPctAvg: number | null = null;
  /** Scan CPU booked since the last period closed: subtracted from that period's total. */
  private scanMsInPeriod = 0;
  /** The last period, booked one period late unless a capture was stored next to it. */
  private pending: PeriodCost | null = null;
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

  /** The running average of the rest of the recorder (percent of a core), null before a period is booked. */
  get restPct(): number | null {
    return this.restPctAvg;
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
    this.scanMsInPeriod += ms;
    this.avgMs = ewma(this.avgMs, ms);
    this.adjust();
  }

  /**
   * Books the whole process's CPU over the period that just ended (the
   * scans booked in it are taken out). `captured`: a capture was stored in
   * it. Captures keep their full scan outside the budget, and one may have
   * begun in the period before the one it was stored in, so a period is
   * booked one period late, and neither of two periods next to a capture is.
   */
  period(total: PeriodCost, captured: boolean): void {
    const rest = { cpuMs: Math.max(0, total.cpuMs - this.scanMsInPeriod), wallMs: total.wallMs };
    this.scanMsInPeriod = 0;
    const ready = captured ? null : this.pending;
    this.pending = captured ? null : rest;
    if (!ready || ready.wallMs <= 0) return;
    this.restPctAvg = ewma(this.restPctAvg, (ready.cpuMs / ready.wallMs) * 100, REST_WEIGHT);
    this.adjust();
  }

  /** Up as soon as the average needs it; down only when the average with the margin fits. */
  private adjust(): void {
    if (this.opts.budgetPct === null || this.avgMs === null) return;
    const forScans = Math.max(this.opts.budgetPct * MIN_SCAN_SHARE, this.opts.budgetPct - (this.restPctAvg ?? 0));
    const up = strideFor(this.avgMs, forScans, this.opts.sampleMs);
    if (up > this.strideNow) {
      this.strideNow = up;
      return;
    }
    const down = strideFor(this.avgMs * DOWN_MARGIN, forScans, this.opts.sampleMs);
    if (down < this.strideNow) this.strideNow = down;
  }
}

function ewma(avg: number | null, x: number, weight = EWMA_WEIGHT): number {
  return avg === null ? x : avg + weight * (x - avg);
}

/** The smallest stride at which scans costing `costMs` each stay within `budgetPct` of a core. */
export function strideFor(costMs: number, budgetPct: number, sampleMs: number): number {
  const allowedMs = (budgetPct / 100) * sampleMs;
  // A tiny epsilon: 60 ms at 10 ms allowed is a stride of 6, not 7 from rounding.
  const k = Math.ceil(costMs / allowedMs - 1e-9);
  return Math.min(MAX_STRIDE, Math.max(1, k));
}
