/**
 * The recorder's scan with --source bpf: one task-iterator pass at every
 * sample the recorder takes itself, and below the scan level once per batch
 * of the waiter's rows (a Node wake-up costs more than the pass, docs/bpf.md);
 * plus the time blocked in D since the previous read, per process and
 * kernel stack: no blocked time is lost between reads, whatever their pace.
 * The capture collector's tracking (src/collect/bpf-tracking.ts) does the
 * work; the recorder's clock drives it.
 */

import type { BlockedTracking } from '../collect/bpf-tracking.ts';
import type { ScanResult, ScanSource } from './sampler.ts';

export class BpfScan implements ScanSource {
  readonly always = true;

  constructor(private readonly tracking: BlockedTracking) {}

  /** Whether the time blocked in D is tracked (the kernel may have refused it). */
  get tracksOffcpu(): boolean {
    return this.tracking.active;
  }

  scan(): Promise<ScanResult> {
    return this.tracking.sample();
  }

  close(): void {
    // The helper belongs to the collector, which detaches everything when it closes.
  }
}
