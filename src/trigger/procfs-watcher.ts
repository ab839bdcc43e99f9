/** Watcher for collectors that do not trigger by themselves: load1 vs threshold, with cooldown. */

import type { Collector } from '../collect/collector.ts';
import { EvidenceSampler } from '../collect/evidence.ts';
import type { Snapshot, Trigger } from '../model/snapshot.ts';
import { CaptureGate, loadRuleTrigger } from './gate.ts';
import type { LoadProbe } from './load-probe.ts';
import { UpdatePhase } from './update-phase.ts';
import { type LoadSource, monotonicToPerf } from './waiter.ts';
import type { StatusLog, Watcher } from './watch.ts';

export interface ThresholdWatcherOptions {
  threshold: number;
  thresholdText: string;
  cooldownMs: number;
  depth: number;
  intervalMs: number;
  /** Start time on the watch clock (for the update-phase search). */
  now: number;
  /** Where the evidence's counters are read (default /proc). */
  procRoot?: string;
  /**
   * The native waiter's load updates (waiter.ts): the loop then sleeps until
   * each update instead of polling /proc/loadavg; null: Node polls (UpdatePhase).
   */
  waiter?: LoadSource | null;
  /** Where the waiter's failure is said (Node polls from then on). */
  log?: StatusLog | null;
  /** Each load1 read (the eBPF tracking's pace follows it). */
  onLoad?: (load1: number) => void;
}

/**
 * Below this share of the threshold the load is low, and the idle cost is
 * what matters: the waiter writes a load line only every HEARTBEAT_MS (a
 * crossing is at or above the level, so it still wakes the loop at the read
 * that saw it), each heartbeat takes the evidence baseline, and the eBPF
 * tracking samples at its slow pace on it (open.ts). At or above the level:
 * every update, a baseline each time, tracking every second.
 */
export const LOW_LOAD_SHARE = 0.5;
export const HEARTBEAT_MS = 30_000;

/**
 * With the waiter, a check at least this often anyway: a waiter that hangs
 * (stopped, starved) costs a late capture, never a missed one. Just over the
 * heartbeat, so a live waiter's line always comes first.
 */
export const WAITER_SAFETY_MS = HEARTBEAT_MS + 5_000;

/**
 * A capture's evidence covers the time since the last baseline reading;
 * baselines are taken at checks at least this far apart, so the window is
 * long enough for rates to mean something and the idle loop stays cheap.
 */
const EVIDENCE_BASELINE_MS = 2_000;

export class ThresholdWatcher implements Watcher {
  private readonly gate: CaptureGate;
  private readonly phase: UpdatePhase;
  private captures = 0;
  private lastLoad1 = 0;
  private readonly evidence: EvidenceSampler;
  private evidenceAt = -Infinity;
  /** The last capture's processes: their cgroups get a baseline too. */
  private evidencePids: number[] = [];
  /** The waiter said ready and has not failed since. */
  private waiterUp = false;
  /** The loop's "check now", once it gave one (without it the waiter could not wake the loop). */
  private wake: (() => void) | null = null;

  constructor(
    private readonly collector: Collector,
    private readonly probe: LoadProbe,
    private readonly opts: ThresholdWatcherOptions,
  ) {
    this.gate = new CaptureGate(opts.threshold, opts.cooldownMs);
    this.phase = new UpdatePhase(opts.intervalMs, opts.now);
    this.evidence = new EvidenceSampler(opts.procRoot ? { procRoot: opts.procRoot } : {});
    const w = opts.waiter;
    if (w) {
      w.onLoad((u) => {
        // LoadProbe's text ends at the third space; the waiter's before it.
        this.phase.learn(`${u.loads} `, monotonicToPerf(u.tMs), Math.min(opts.intervalMs, 1000));
        this.wake?.();
      });
      // onExit says every failure, a failed start included: said once.
      w.onExit((err) => this.waiterDown(err));
      w.ready.then(
        () => {
          this.waiterUp = w.error === null;
          // Refused (it cannot be, by this build's waiter): every line comes, as before; only the cost differs.
          if (this.waiterUp) w.hush(opts.threshold * LOW_LOAD_SHARE, HEARTBEAT_MS).catch(() => {});
        },
        () => {},
      );
    }
  }

  /** The loop's wake-up: each load update the waiter sees checks at once. */
  onWake(wake: () => void): void {
    this.wake = wake;
  }

  /** The waiter failed: said once, and the checks go back to Node's polling at once. */
  private waiterDown(err: Error): void {
    const wasUp = this.waiterUp;
    this.waiterUp = false;
    this.opts.log?.(`${err.message}; polling /proc/loadavg from Node instead`);
    if (wasUp) this.wake?.();
  }

  poll(nowMs: number): Promise<Snapshot> | null {
    const { load1, loads } = this.probe.read();
    this.phase.observe(loads, nowMs);
    this.lastLoad1 = load1;
    this.opts.onLoad?.(load1);
    if (!this.gate.check(load1, nowMs)) {
      if (nowMs - this.evidenceAt >= EVIDENCE_BASELINE_MS) this.baseline(nowMs);
      return null;
    }
    return this.capture(this.loadTrigger(load1));
  }

  /**
   * A capture for another trigger (a PSI event), under the same cooldown,
   * count and evidence as the load's; null while the cooldown runs. `make`
   * gets the load trigger's fields (the last load1 read) to extend.
   */
  captureFor(make: (base: Trigger) => Trigger, nowMs: number): Promise<Snapshot> | null {
    if (!this.gate.take(nowMs)) return null;
    return this.capture(make(this.loadTrigger(this.lastLoad1)));
  }

  /** The trigger of the next capture, as the load rule words it. */
  private loadTrigger(load1: number): Trigger {
    return loadRuleTrigger(this.gate, this.opts.thresholdText, load1, this.captures + 1);
  }

  private capture(trigger: Trigger): Promise<Snapshot> {
    this.captures++;
    return this.collector.capture({ depth: this.opts.depth, trigger }).then((snap) => this.withEvidence(snap));
  }

  private baseline(nowMs: number): void {
    this.evidenceAt = nowMs;
    this.evidence.sample(Date.now(), this.evidencePids);
  }

  /** The evidence over the seconds before the capture, for the captured tasks' processes. */
  private withEvidence(snap: Snapshot): Snapshot {
    const pids = new Map<number, number>();
    for (const t of snap.tasks) pids.set(t.pid, (pids.get(t.pid) ?? 0) + 1);
    this.evidencePids = [...pids.entries()].sort((a, b) => b[1] - a[1]).map(([pid]) => pid);
    this.evidenceAt = performance.now();
    const ev = this.evidence.sample(Date.now(), this.evidencePids);
    if (ev) snap.evidence = ev;
    return snap;
  }

  /**
   * Next check: around the kernel's next load-average update, or when the
   * cooldown ends if the load is already above the threshold.
   */
  nextDelay(nowMs: number): number {
    // The phase keeps learning from every check, so a fallback starts phase-locked.
    const delay = this.waiterUp && this.wake ? WAITER_SAFETY_MS : this.phase.nextDelay(nowMs);
    if (this.lastLoad1 < this.opts.threshold) return delay;
    return Math.min(delay, Math.max(this.opts.intervalMs, this.gate.cooldownLeft(nowMs)));
  }

  close(): void {
    this.opts.waiter?.close();
    this.probe.close();
    this.collector.close();
  }
}
