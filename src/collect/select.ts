/**
 * Chooses the collector for --source: `procfs`, `kmod`, `bpf`, or `auto`.
 * Auto takes the module when /proc/load_monitor exists; a one-shot snapshot
 * then procfs (bpf only for user stacks, --profile); watch and record the
 * eBPF collector when it can work here (helper built, BTF, privileges; live
 * /proc only), else procfs. When auto wanted bpf and passed over it, or bpf
 * fails to start, the capture says so in a note.
 */

import { existsSync } from 'node:fs';

import { bpfUnavailable } from '../bpf/availability.ts';
import { LoadmonError } from '../errors.ts';
import type { SourceChoice } from '../model/options.ts';
import type { Snapshot, SourceName } from '../model/snapshot.ts';
import { BpfCollector, type BpfCollectorOptions } from './bpf.ts';
import type { CaptureOptions, Collector } from './collector.ts';
import { KmodCollector, kmodPath, NO_KMOD_SNAPSHOT } from './kmod.ts';
import { ProcfsCollector, type ProcfsCollectorOptions } from './procfs.ts';

/** bpf reads the running kernel, so auto considers it only for the live proc tree. */
function isLiveProc(procRoot: string): boolean {
  return (procRoot.replace(/\/+$/, '') || '/') === '/proc';
}

/** What a command needs from its collector, for `auto` to choose. */
export interface SourceNeeds {
  /** A one-shot capture (`snapshot`) or captures over time (`watch`, `record`). */
  purpose: 'snapshot' | 'watch';
  /** User stacks of R tasks (`--profile`): only the eBPF collector has them. */
  userStacks: boolean;
}

export const WATCH_NEEDS: SourceNeeds = { purpose: 'watch', userStacks: false };

export function snapshotNeeds(profileMs: number | null): SourceNeeds {
  return { purpose: 'snapshot', userStacks: (profileMs ?? 0) > 0 };
}

/** What `auto` looks at on this machine (injected in tests). */
export interface SourceFacts {
  kmodLoaded: boolean;
  liveProc: boolean;
  /** Why bpf cannot work here, or null (asked only when bpf is a candidate). */
  bpfUnavailable: () => string | null;
}

export function machineFacts(procRoot: string): SourceFacts {
  return { kmodLoaded: existsSync(kmodPath(procRoot)), liveProc: isLiveProc(procRoot), bpfUnavailable };
}

export interface SourceChoiceResult {
  source: SourceName;
  /** Why bpf was wanted but not usable (the capture says so in a note), else null. */
  bpfSkipped: string | null;
}

/**
 * `auto` takes the fastest source that gives what the command needs. A
 * one-shot snapshot: the module's capture when it is loaded, else procfs --
 * the eBPF helper's start (loading and verifying its programs, reading
 * kallsyms) costs more than a whole procfs capture (docs/benchmarks.md) --
 * unless user stacks were asked for. Watch and record start the helper once
 * and gain a cheap pass and the time blocked in D: the module, else bpf.
 */
export function chooseSource(choice: SourceChoice, needs: SourceNeeds, facts: SourceFacts): SourceChoiceResult {
  if (choice !== 'auto') return { source: choice, bpfSkipped: null };
  // The module's capture costs nothing and watch uses its trigger: only user stacks need bpf over it.
  if (facts.kmodLoaded && !needs.userStacks) return { source: 'kmod', bpfSkipped: null };
  const other: SourceName = facts.kmodLoaded ? 'kmod' : 'procfs';
  const wantsBpf = needs.purpose === 'watch' || needs.userStacks;
  if (!wantsBpf || !facts.liveProc) return { source: other, bpfSkipped: null };
  const why = facts.bpfUnavailable();
  return why === null ? { source: 'bpf', bpfSkipped: null } : { source: other, bpfSkipped: why };
}

/**
 * `procfs` tunes the procfs collector (how details are read) when that is
 * the one chosen; `bpf` the eBPF one (`profileMs` applies to it only).
 */
export function openCollector(
  choice: SourceChoice,
  procRoot: string,
  needs: SourceNeeds,
  procfs: Omit<ProcfsCollectorOptions, 'procRoot'> = {},
  bpf: Omit<BpfCollectorOptions, 'procRoot'> = {},
): Collector {
  const openProcfs = (): Collector => new ProcfsCollector({ ...procfs, procRoot });
  const { source, bpfSkipped } = chooseSource(choice, needs, machineFacts(procRoot));
  if (source === 'bpf') {
    const collector = new BpfCollector({ ...bpf, procRoot });
    return choice === 'auto' ? new BpfOrProcfs(collector, openProcfs) : collector;
  }
  const openKmod = (): Collector =>
    choice === 'auto' ? new KmodOrProcfs(new KmodCollector(procRoot), openProcfs) : new KmodCollector(procRoot);
  const collector = source === 'kmod' ? openKmod() : openProcfs();
  return bpfSkipped === null ? collector : new NotedCollector(collector, bpfNote(bpfSkipped, source));
}

function bpfNote(why: string, source: SourceName = 'procfs'): string {
  return `the eBPF collector was not used (${why}); this capture was made with ${source === 'kmod' ? 'the kernel module' : 'procfs'}`;
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
        this.fallback = new NotedCollector(this.openProcfs(), bpfNote(err.fields.reason ?? err.message));
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
