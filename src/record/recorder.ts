/**
 * `loadmon record`: the watch loop (same watchers, same collectors) plus the
 * timeline sampler, both writing into the store. The sampler ticks once per
 * sample period at a fixed phase of the wall clock that depends on the
 * recorder's pid (samplePhase): a sampler that wakes with others (a second
 * recorder, any tool that samples on the whole second) would count them
 * running at every sample -- R that the kernel's own load-average ticks do
 * not see.
 */

import type { Snapshot } from '../model/snapshot.ts';
import type { RetentionPolicy } from '../store/retention.ts';
import type { SessionInfo } from '../store/writer.ts';
import { runWatch, type Watcher } from '../trigger/watch.ts';
import { ScanBudget } from './budget.ts';
import { DurableStore } from './durable-store.ts';
import { type ScanSource, TimelineSampler } from './sampler.ts';

export interface RecorderOptions {
  /** Where the per-process counts come from (default: procfs, above the session's scanAbove). */
  scan?: ScanSource;
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
  let timer: NodeJS.Timeout | undefined;
  let sampleError: unknown = null;
  const inner = new AbortController();
  const onAbort = (): void => inner.abort();
  opts.signal.addEventListener('abort', onAbort);

  let stopped = false;
  const meter = periodMeter(budget);
  const sampleTick = async (): Promise<void> => {
    const now = Date.now();
    meter.tick(now);
    try {
      const sample = await sampler.sample(now);
      if (stopped) return;
      noteThinning(sample.threads);
      store.addSample(sample, Date.now());
      store.tick(Date.now());
    } catch (err) {
      if (stopped) return;
      // /proc unreadable, or the store taken by another recorder: stop everything.
      sampleError = err;
      inner.abort();
      return;
    }
    timer = setTimeout(() => void sampleTick(), untilPhase(Date.now(), opts.sampleMs, phase));
  };
  const phase = samplePhase(process.pid, opts.sampleMs);
  void sampleTick();

  const onCapture = (s: Snapshot): void => {
    const now = Date.now();
    meter.captured();
    const id = store.addCapture(s, now);
    const what = `load1 ${s.loadavg.load1.toFixed(2)}, ${countState(s, 'R')} R, ${countState(s, 'D')} D`;
    if (id !== null) opts.status?.(`capture ${id} stored (${what})`);
    else opts.status?.(`capture kept in memory until the store is writable (${what})`);
  };

  const stop = (): void => {
    opts.signal.removeEventListener('abort', onAbort);
    stopped = true;
    if (timer) clearTimeout(timer);
    sampler.close();
    store.close();
  };
  let emitted: number;
  try {
    emitted = await runWatch(watcher, { intervalMs: opts.intervalMs, count: opts.count, signal: inner.signal }, onCapture);
  } catch (err) {
    stop();
    // A failed sample aborted the watch: its error is the cause, not what the abort made of it.
    throw sampleError ?? err;
  }
  stop();
  if (sampleError !== null) throw sampleError;
  return emitted;
}

/**
 * Books the whole process's CPU between two sample ticks with the budget
 * (process.cpuUsage(): every thread of the process; a capture's detail
 * child is not in it, and captures are outside the budget anyway), and
 * whether a capture was stored in between.
 */
function periodMeter(budget: ScanBudget): { tick(nowMs: number): void; captured(): void } {
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

/**
 * Where in each period this process samples: the fractional part of pid x
 * the golden ratio, so that recorders with neighbouring pids sample far
 * apart; kept off the whole second (phase >= 5% of the period).
 */
export function samplePhase(pid: number, periodMs: number): number {
  const frac = (pid * 0.6180339887498949) % 1;
  return Math.round(periodMs * (0.05 + 0.9 * frac));
}

/** Milliseconds from `nowMs` to the next instant k x period + phase (never 0: a full period at most). */
export function untilPhase(nowMs: number, periodMs: number, phase: number): number {
  const wait = (phase - (nowMs % periodMs) + periodMs) % periodMs;
  return wait === 0 ? periodMs : wait;
}
