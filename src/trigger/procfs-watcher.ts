/** Watcher for collectors that do not trigger by themselves: load1 vs threshold, with cooldown. */

import type { Collector } from '../collect/collector.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { CaptureGate } from './gate.ts';
import type { LoadProbe } from './load-probe.ts';
import { UpdatePhase } from './update-phase.ts';
import type { Watcher } from './watch.ts';

export interface ThresholdWatcherOptions {
  threshold: number;
  thresholdText: string;
  cooldownMs: number;
  depth: number;
  intervalMs: number;
  /** Start time on the watch clock (for the update-phase search). */
  now: number;
}

export class ThresholdWatcher implements Watcher {
  private readonly gate: CaptureGate;
  private readonly phase: UpdatePhase;
  private captures = 0;
  private lastLoad1 = 0;

  constructor(
    private readonly collector: Collector,
    private readonly probe: LoadProbe,
    private readonly opts: ThresholdWatcherOptions,
  ) {
    this.gate = new CaptureGate(opts.threshold, opts.cooldownMs);
    this.phase = new UpdatePhase(opts.intervalMs, opts.now);
  }

  poll(nowMs: number): Promise<Snapshot> | null {
    const { load1, loads } = this.probe.read();
    this.phase.observe(loads, nowMs);
    this.lastLoad1 = load1;
    if (!this.gate.check(load1, nowMs)) return null;
    this.captures++;
    return this.collector.capture({
      depth: this.opts.depth,
      trigger: {
        reason: 'load1>=threshold',
        threshold: this.opts.threshold,
        threshold_spec: this.opts.thresholdText,
        load1,
        cooldown_ms: this.opts.cooldownMs,
        capture_index: this.captures,
      },
    });
  }

  /**
   * Next check: around the kernel's next load-average update, or when the
   * cooldown ends if the load is already above the threshold.
   */
  nextDelay(nowMs: number): number {
    const delay = this.phase.nextDelay(nowMs);
    if (this.lastLoad1 < this.opts.threshold) return delay;
    return Math.min(delay, Math.max(this.opts.intervalMs, this.gate.cooldownLeft(nowMs)));
  }

  close(): void {
    this.probe.close();
    this.collector.close();
  }
}
