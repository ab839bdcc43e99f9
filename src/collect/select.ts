/**
 * Chooses the collector for --source: `procfs`, `kmod`, `bpf`, or `auto`:
 * the module when /proc/load_monitor exists, else the eBPF collector when it
 * can work here (helper built, BTF, privileges; live /proc only), else
 * procfs. When auto passes over bpf, or bpf fails to start, the snapshot
 * says so in a note.
 */

import { existsSync } from 'node:fs';

import { bpfUnavailable } from '../bpf/availability.ts';
import type { SourceChoice } from '../cli/options.ts';
import { LoadmonError } from '../errors.ts';
import type { Snapshot, SourceName } from '../model/snapshot.ts';
import { BpfCollector, type BpfCollectorOptions } from './bpf.ts';
import type { CaptureOptions, Collector } from './collector.ts';
import { KmodCollector, kmodPath, NO_KMOD_SNAPSHOT } from './kmod.ts';
import { ProcfsCollector, type ProcfsCollectorOptions } from './procfs.ts';

/** bpf reads the running kernel, so auto considers it only for the live proc tree. */
function isLiveProc(procRoot: string): boolean {
  return (procRoot.replace(/\/+$/, '') || '/') === '/proc';
}

export function resolveSource(choice: SourceChoice, procRoot: string): SourceName {
  return resolveWithReason(choice, procRoot).source;
}

function resolveWithReason(choice: SourceChoice, procRoot: string): { source: SourceName; bpfSkipped: string | null } {
  if (choice !== 'auto') return { source: choice, bpfSkipped: null };
  if (existsSync(kmodPath(procRoot))) return { source: 'kmod', bpfSkipped: null };
  if (!isLiveProc(procRoot)) return { source: 'procfs', bpfSkipped: null };
  const why = bpfUnavailable();
  return why === null ? { source: 'bpf', bpfSkipped: null } : { source: 'procfs', bpfSkipped: why };
}

/**
 * `procfs` tunes the procfs collector (how details are read) when that is
 * the one chosen; `bpf` the eBPF one (`profileMs` applies to it only).
 */
export function openCollector(
  choice: SourceChoice,
  procRoot: string,
  procfs: Omit<ProcfsCollectorOptions, 'procRoot'> = {},
  bpf: Omit<BpfCollectorOptions, 'procRoot'> = {},
): Collector {
  const openProcfs = (): Collector => new ProcfsCollector({ ...procfs, procRoot });
  const { source, bpfSkipped } = resolveWithReason(choice, procRoot);
  if (source === 'procfs') return bpfSkipped === null ? openProcfs() : new NotedCollector(openProcfs(), bpfNote(bpfSkipped));
  if (source === 'bpf') {
    const collector = new BpfCollector({ ...bpf, procRoot });
    return choice === 'auto' ? new BpfOrProcfs(collector, openProcfs) : collector;
  }
  const kmod = new KmodCollector(procRoot);
  return choice === 'auto' ? new KmodOrProcfs(kmod, openProcfs) : kmod;
}

function bpfNote(why: string): string {
  return `the eBPF collector was not used (${why}); this capture was made with procfs`;
}

/** A collector whose snapshots carry one more note. */
class NotedCollector implements Collector {
  constructor(
    private readonly inner: Collector,
    private readonly note: string,
  ) {}

  get source(): SourceName {
    return this.inner.source;
  }

  async capture(opts: CaptureOptions): Promise<Snapshot> {
    const snap = await this.inner.capture(opts);
    snap.notes.push(this.note);
    return snap;
  }

  close(): void {
    this.inner.close();
  }
}

/** The eBPF collector behind `collector` (bpf, or auto that chose bpf and has not fallen back), else null. */
export function bpfCollectorOf(collector: Collector): BpfCollector | null {
  if (collector instanceof BpfCollector) return collector;
  if (collector instanceof BpfOrProcfs) return collector.bpfIfUsed();
  return null;
}

/**
 * --source auto where bpf looked possible: the eBPF collector, or procfs
 * (for good, with a note) if its helper fails to start -- a kernel that
 * refuses the programs, a locked-down system.
 */
class BpfOrProcfs implements Collector {
  private fallback: Collector | null = null;

  constructor(
    private readonly bpf: BpfCollector,
    private readonly openProcfs: () => Collector,
  ) {}

  get source(): SourceName {
    return this.fallback ? this.fallback.source : 'bpf';
  }

  bpfIfUsed(): BpfCollector | null {
    return this.fallback ? null : this.bpf;
  }

  async capture(opts: CaptureOptions): Promise<Snapshot> {
    if (!this.fallback) {
      try {
        await this.bpf.start();
        return await this.bpf.capture(opts);
      } catch (err) {
        if (!(err instanceof LoadmonError)) throw err;
        this.bpf.close();
        this.fallback = new NotedCollector(this.openProcfs(), bpfNote(err.message.replace(/^source 'bpf' is not available: /, '')));
      }
    }
    return this.fallback.capture(opts);
  }

  close(): void {
    this.bpf.close();
    this.fallback?.close();
  }
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
