/**
 * Chooses the collector for --source: `procfs`, `kmod`, or `auto` (the
 * module when /proc/load_monitor exists, procfs otherwise).
 */

import { existsSync } from 'node:fs';

import type { SourceChoice } from '../cli/options.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { CaptureOptions, Collector } from './collector.ts';
import { KmodCollector, kmodPath, NO_KMOD_SNAPSHOT } from './kmod.ts';
import { ProcfsCollector, type ProcfsCollectorOptions } from './procfs.ts';

export function resolveSource(choice: SourceChoice, procRoot: string): 'procfs' | 'kmod' {
  if (choice !== 'auto') return choice;
  return existsSync(kmodPath(procRoot)) ? 'kmod' : 'procfs';
}

/** `procfs` tunes the procfs collector (how details are read) when that is the one chosen. */
export function openCollector(choice: SourceChoice, procRoot: string, procfs: Omit<ProcfsCollectorOptions, 'procRoot'> = {}): Collector {
  const openProcfs = (): Collector => new ProcfsCollector({ ...procfs, procRoot });
  if (resolveSource(choice, procRoot) === 'procfs') return openProcfs();
  const kmod = new KmodCollector(procRoot);
  return choice === 'auto' ? new KmodOrProcfs(kmod, openProcfs) : kmod;
}

/**
 * --source auto with the module loaded: the module's newest snapshot, or a
 * procfs capture (with a note) while the module has not captured anything.
 */
class KmodOrProcfs implements Collector {
  readonly source = 'kmod' as const;
  private fallback: Collector | null = null;

  constructor(
    private readonly kmod: KmodCollector,
    private readonly openProcfs: () => Collector,
  ) {}

  async capture(opts: CaptureOptions): Promise<Snapshot> {
    if (this.kmod.readAll().length > 0) return this.kmod.capture(opts);
    this.fallback ??= this.openProcfs();
    const snap = await this.fallback.capture(opts);
    snap.notes.push(`${NO_KMOD_SNAPSHOT}; this capture was made with procfs`);
    return snap;
  }

  close(): void {
    this.fallback?.close();
  }
}
