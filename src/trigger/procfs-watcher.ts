/** Watcher for collectors that do not trigger by themselves: load1 vs threshold, with cooldown. */

import type { Collector } from '../collect/collector.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { CaptureGate } from './gate.ts';
import type { LoadProbe } from './load-probe.ts';
import type { Watcher } from './watch.ts';

export interface ThresholdWatcherOptions {
  threshold: number;
  thresholdText: string;
  cooldownMs: number;
  depth: number;
}

export class ThresholdWatcher implements Watcher {
  private readonly gate: CaptureGate;
  private captures = 0;

  constructor(
    private readonly collector: Collector,
    private readonly probe: LoadProbe,
    private readonly opts: ThresholdWatcherOptions,
  ) {
    this.gate = new CaptureGate(opts.threshold, opts.cooldownMs);
  }

  poll(nowMs: number): Promise<Snapshot> | null {
    const load1 = this.probe.load1();
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

  close(): void {
    this.probe.close();
    this.collector.close();
  }
}
