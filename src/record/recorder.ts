/**
 * `loadmon record`: the watch loop (same watchers, same collectors) plus the
 * timeline, both writing into the store. The timeline has a row every
 * sample period at the recorder's phase (phase.ts); below the scan level
 * the native waiter takes the rows and hands them over in batches, at or
 * above it the recorder samples itself (pacer.ts).
 */

import type { Snapshot } from '../model/snapshot.ts';
import { formatDuration } from '../model/time.ts';
import type { RetentionPolicy } from '../store/retention.ts';
import type { SessionInfo } from '../store/writer.ts';
import type { RowSource } from '../trigger/waiter.ts';
import type { WaiterRow } from '../trigger/waiter-protocol.ts';
import { runWatch, type Watcher } from '../trigger/watch.ts';
import { ScanBudget } from './budget.ts';
import { DurableStore } from './durable-store.ts';
import { Pacer, ROW_BATCH } from './pacer.ts';
import { samplePhase } from './phase.ts';
import { type ScanSource, TimelineSampler } from './sampler.ts';
import { readSpool, removeSpool, spoolPathFor } from './spool.ts';

export { samplePhase, untilPhase } from './phase.ts';

export interface RecorderOptions {
  /** Where the per-process counts come from (default: procfs, above the session's scanAbove). */
  scan?: ScanSource;
  /**
   * The native waiter's light rows, taken below `rowsBelow` (half the
   * threshold); null: Node samples every period.
   */
  rows?: RowSource | null;
  rowsBelow?: number;
  /** --cpu-budget for the procfs light scan (percent of one core); null: off. */
  cpuBudgetPct: number | null;
  db: string;
  procRoot: string;
  sampleMs: number;
  intervalMs: number;
  count: number | undefined;
  policy: RetentionPolicy;
  session: SessionInfo;
  signal: AbortSignal;
  /** Status lines for people (stderr); null when --quiet. Store failures are always reported. */
  status: ((line: string) => void) | null;
  warn: (line: string) => void;
  /** Called once the store is open and locked (recording has begun). */
  onStarted?: () => void;
}

/** Resolves with the number of captures taken once the watch ends (signal or --count). */
export async function runRecorder(watcher: Watcher, opts: RecorderOptions): Promise<number> {
  const store = new DurableStore({ path: opts.db, policy: opts.policy, session: opts.session, log: opts.warn, procRoot: opts.procRoot });
  try {
    store.start(Date.now());
  } catch (err) {
    watcher.close();
    throw err;
  }
  opts.onStarted?.();
  const budget = new ScanBudget({ budgetPct: opts.cpuBudgetPct, sampleMs: opts.sampleMs });
  const sampler = new TimelineSampler({ procRoot: opts.procRoot, scanAbove: opts.session.scanAbove, scan: opts.scan, budget });
  const noteThinning = thinningNote(budget, opts);
  let sampleError: unknown = null;
  const inner = new AbortController();
  const onAbort = (): void => inner.abort();
  opts.signal.addEventListener('abort', onAbort);
  // A failed sample or store write (/proc unreadable, the store taken by another recorder) stops everything.
  const failed = (err: unknown): null => {
    sampleError ??= err;
    inner.abort();
    return null;
  };

  const spool = opts.rows ? spoolPathFor(opts.db) : undefined;
  if (opts.rows && spool === undefined) {
    const batch = formatDuration(ROW_BATCH * opts.sampleMs);
    opts.warn(`timeline rows: no spool (the store path has white space); a SIGKILL loses up to ${batch} of rows`);
  }
  if (spool !== undefined) storeSpooled(spool, sampler, store, opts.status);

  const meter = periodMeter(budget);
  const pacer = new Pacer({
    spool,
    periodMs: opts.sampleMs,
    phaseMs: samplePhase(process.pid, opts.sampleMs),
    level: opts.rowsBelow ?? Number.POSITIVE_INFINITY,
    rows: opts.rows ?? null,
    sample: async (now) => {
      meter.tick(now);
      try {
        const sample = await sampler.sample(now);
        if (inner.signal.aborted) return null;
        noteThinning(sample.threads);
        store.addSample(sample, Date.now());
        store.tick(Date.now());
        return sample.load1;
      } catch (err) {
        return inner.signal.aborted ? null : failed(err);
      }
    },
    rowsArrived: async (rows) => {
      try {
        await storeRows(rows, sampler, store);
      } catch (err) {
        failed(err);
      }
    },
    onRise: (now) => {
      // The first sample of its own has its evidence window and a fresh budget period.
      sampler.baseline(now);
      meter.reset();
    },
    status: opts.warn,
  });
  void pacer.start();

  const onCapture = (s: Snapshot): void => {
    const now = Date.now();
    meter.captured();
    const id = store.addCapture(s, now);
    const what = `load1 ${s.loadavg.load1.toFixed(2)}, ${countState(s, 'R')} R, ${countState(s, 'D')} D`;
    if (id !== null) opts.status?.(`capture ${id} stored (${what})`);
    else opts.status?.(`capture kept in memory until the store is writable (${what})`);
  };

  // The waiter must outlive the watch loop until its pending rows are stored: closed here, not by runWatch.
  let emitted = 0;
  let watchError: unknown = null;
  try {
    emitted = await runWatch(keepOpen(watcher), { intervalMs: opts.intervalMs, count: opts.count, signal: inner.signal }, onCapture);
  } catch (err) {
    watchError = err;
  }
  opts.signal.removeEventListener('abort', onAbort);
  await pacer.finish();
  watcher.close();
  sampler.close();
  // Every row is stored now; if the store could not take them they stay spooled for the next start.
  if (spool !== undefined && store.writable) removeSpool(spool);
  store.close();
  // A failed sample aborted the watch: its error is the cause, not what the abort made of it.
  if (sampleError !== null) throw sampleError;
  if (watchError !== null) throw watchError;
  return emitted;
}

/**
 * The rows a recorder killed with SIGKILL left in the waiter's spool, newer
 * than the newest stored sample (those it did store are not written twice),
 * stored before anything else, without a scan, as rows below the scan level are.
 */
function storeSpooled(spool: string, sampler: TimelineSampler, store: DurableStore, status: RecorderOptions['status']): void {
  const rows = readSpool(spool, store.newestSampleMs() ?? Number.NEGATIVE_INFINITY);
  for (const s of sampler.unscanned(rows)) store.addSample(s, Date.now());
  if (rows.length > 0) status?.(`stored ${rows.length} timeline row(s) that a killed recorder left in ${spool}`);
  if (store.writable) removeSpool(spool);
}

/** The waiter's rows into the store, each with its own time; a failed batch scan (bpf) after they are stored. */
async function storeRows(rows: WaiterRow[], sampler: TimelineSampler, store: DurableStore): Promise<void> {
  const { samples, error } = await sampler.fromRows(rows);
  for (const sample of samples) store.addSample(sample, Date.now());
  store.tick(Date.now());
  if (error !== null) throw error;
}

/** `w` whose close() runs later, by the recorder (the loop closes its watcher when it ends). */
function keepOpen(w: Watcher): Watcher {
  const held: Watcher = { poll: (now) => w.poll(now), close: () => {} };
  if (w.nextDelay) held.nextDelay = (now) => w.nextDelay!(now);
  if (w.onWake) held.onWake = (wake) => w.onWake!(wake);
  return held;
}

/**
 * Books the whole process's CPU between two sample ticks with the budget
 * (process.cpuUsage(): every thread of the process; a capture's detail
 * child is not in it, and captures are outside the budget anyway), and
 * whether a capture was stored in between.
 */
function periodMeter(budget: ScanBudget): { tick(nowMs: number): void; captured(): void; reset(): void } {
  let last: { cpu: NodeJS.CpuUsage; ms: number } | null = null;
  let captured = false;
  return {
    tick(nowMs) {
      const cpu = process.cpuUsage();
      if (last) budget.period({ cpuMs: cpuMsBetween(last.cpu, cpu), wallMs: nowMs - last.ms }, captured);
      last = { cpu, ms: nowMs };
      captured = false;
    },
    captured() {
      captured = true;
    },
    /** After a time without samples of its own (the waiter's rows): the next tick starts a period. */
    reset() {
      last = null;
      captured = false;
    },
  };
}

function cpuMsBetween(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number {
  return (b.user - a.user + b.system - a.system) / 1000;
}

/**
 * Says once (status) what a procfs light scan costs here, the first time the
 * budget thins the scans: that is when the cost is worth knowing, and the
 * scan had to run at least once to be measured.
 */
function thinningNote(budget: ScanBudget, opts: RecorderOptions): (threads: number | null) => void {
  let said = opts.scan !== undefined || opts.cpuBudgetPct === null;
  return (threads) => {
    // Once the rest of record is measured too (its first period is booked a period late): the note gives both.
    if (said || budget.stride <= 1 || budget.costMs === null || budget.restPct === null) return;
    said = true;
    const pctOfCore = (budget.costMs / opts.sampleMs) * 100;
    opts.status?.(
      `a light scan of ${threads ?? 'all'} threads costs ${budget.costMs.toFixed(1)} ms of CPU here` +
        ` (${pctOfCore.toFixed(1)}% of a core at every sample) and the rest of record ${budget.restPct.toFixed(2)}%;` +
        ` --cpu-budget ${opts.cpuBudgetPct}% thins light scans to 1 in ${budget.stride}` +
        ' (captures keep their full scan; --source bpf scans every sample for far less)',
    );
  };
}

function countState(s: Snapshot, state: 'R' | 'D'): number {
  let n = 0;
  for (const t of s.tasks) if (t.state === state) n++;
  return n;
}
