/**
 * The recorder's per-sample scan with --source bpf: one task-iterator pass
 * at every sample, whatever the load (a pass costs well under a millisecond
 * per 1,000 threads, docs/bpf.md), so attribution and the context before a
 * capture are complete; plus the time blocked in D since the previous
 * sample, per process and kernel stack (src/collect/bpf-tracking.ts).
 *
 * It drives the capture collector's tracking: one helper per recorder.
 */

import type { BlockedTracking } from '../collect/bpf-tracking.ts';
import type { BpfCollector } from '../collect/bpf.ts';
import { countByProcess, type ScanResult, type ScanSource } from './sampler.ts';

export interface BpfScanOptions {
  /** Kernel frames kept per blocked stack (the capture depth). */
  depth: number;
  /** One line for people when the off-CPU tracking cannot work. */
  warn: (line: string) => void;
}

export class BpfScan implements ScanSource {
  readonly always = true;
  private tracking: BlockedTracking | null = null;

  constructor(
    private readonly collector: BpfCollector,
    private readonly opts: BpfScanOptions,
  ) {}

  /** Whether the time blocked in D is tracked (known once start() resolved). */
  get tracksOffcpu(): boolean {
    return this.tracking?.active ?? false;
  }

  /** Starts the helper (shared with the collector) and the tracking. Throws E_SOURCE_UNAVAILABLE. */
  async start(): Promise<void> {
    this.tracking = await this.collector.track(this.opts.depth, this.opts.warn, false);
  }

  async scan(): Promise<ScanResult> {
    if (this.tracking) return this.tracking.sample();
    // The kernel refused the tracking: counts only.
    const helper = await this.collector.start();
    const { pass } = await helper.sample(this.opts.depth, process.pid);
    const byPid = new Map<number, string | null>();
    for (const t of pass.tasks) if (!byPid.has(t.pid)) byPid.set(t.pid, this.collector.cgroups.pathOf(t.cgroups));
    return { scan: countByProcess(pass.tasks, (pid) => byPid.get(pid) ?? null) };
  }

  close(): void {
    // The helper belongs to the collector, which detaches everything when it closes.
  }
}
