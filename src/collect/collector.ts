/**
 * The collector interface: something that can say, now, which tasks are R
 * and D and where they are in the kernel. procfs is the portable default;
 * kmod reads the load_monitor kernel module; more (bpf) come later.
 */

import type { Snapshot, SourceName, Trigger } from '../model/snapshot.ts';

export interface CaptureOptions {
  /** Kernel frames kept per task (0: do not read stacks). */
  depth: number;
  trigger?: Trigger | null;
}

export interface Collector {
  readonly source: SourceName;
  capture(opts: CaptureOptions): Promise<Snapshot>;
  /** Releases helper processes and file descriptors. */
  close(): void;
}
