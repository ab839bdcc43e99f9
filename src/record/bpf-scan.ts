/**
 * The recorder's per-sample scan with --source bpf: one task-iterator pass
 * at every sample, whatever the load (a pass costs well under a millisecond
 * per 1,000 threads, docs/bpf.md), so attribution and the context before a
 * capture are complete; plus the time blocked in D since the previous
 * sample, per process and kernel stack. The capture collector's tracking
 * (src/collect/bpf-tracking.ts) does the work; the recorder's clock drives it.
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
