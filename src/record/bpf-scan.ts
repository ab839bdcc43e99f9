/**
 * The recorder's per-sample scan with --source bpf: one task-iterator pass
 * at every sample, whatever the load (a pass costs well under a millisecond
 * per 1,000 threads, docs/benchmarks.md), so attribution and the context
 * before a capture are complete; plus the time blocked in D since the
 * previous sample, per process and kernel stack, from the sched_switch
 * tracking (offcputime --state 2, continuously; docs/bpf.md).
 *
 * It shares the capture collector's helper process and its symbol and
 * cgroup caches: one helper per recorder.
 */

import { readFileSync } from 'node:fs';

import type { BpfHelper } from '../bpf/helper.ts';
import { type BlockedThread, OffcpuAccount, type OffcpuShare, switchStackFrames } from '../bpf/offcpu.ts';
import type { BpfCollector } from '../collect/bpf.ts';
import type { OffcpuEntry, StateScan } from '../model/timeline.ts';
import { parseCgroup } from '../procfs/cgroup.ts';
import { countByProcess, type ScanResult, type ScanSource } from './sampler.ts';

export interface BpfScanOptions {
  /** Kernel frames kept per blocked stack (the capture depth). */
  depth: number;
  /** false: counts only, no sched_switch program. */
  offcpu: boolean;
  /** One line for people when the off-CPU tracking cannot work. */
  warn: (line: string) => void;
}

/** Unknown cgroups make the resolver walk the hierarchies again; at most this often. */
const CGROUP_REWALK_MS = 10_000;

export class BpfScan implements ScanSource {
  readonly always = true;
  private account: OffcpuAccount | null = null;
  private started: Promise<BpfHelper> | null = null;
  private lastRewalk = 0;

  constructor(
    private readonly collector: BpfCollector,
    private readonly opts: BpfScanOptions,
  ) {}

  /** Whether the sched_switch tracking runs (known once start() resolved). */
  get tracksOffcpu(): boolean {
    return this.account !== null;
  }

  /** Starts the helper (shared with the collector) and the off-CPU tracking. Throws E_SOURCE_UNAVAILABLE. */
  start(): Promise<BpfHelper> {
    this.started ??= (async () => {
      const helper = await this.collector.start();
      if (this.opts.offcpu) {
        try {
          this.account = new OffcpuAccount(await helper.offcpuStart(process.pid));
          // Read now (~0.2 s, once) rather than at the first blockage.
          this.collector.kallsyms.symbols();
        } catch (err) {
          this.opts.warn(`time blocked in D is not tracked: ${(err as Error).message}`);
        }
      }
      return helper;
    })();
    return this.started;
  }

  async scan(): Promise<ScanResult> {
    const helper = await this.start();
    const { offcpu: read, pass } = await helper.sample(this.opts.depth, process.pid);
    const now = Date.now();
    if (now - this.lastRewalk >= CGROUP_REWALK_MS) {
      this.collector.cgroups.beginCapture();
      this.lastRewalk = now;
    }
    const cgroupOfPid = new Map<number, string | null>();
    for (const t of pass.tasks) if (!cgroupOfPid.has(t.pid)) cgroupOfPid.set(t.pid, this.collector.cgroups.pathOf(t.cgroups));
    const scan = countByProcess(pass.tasks, (pid) => cgroupOfPid.get(pid) ?? null);
    if (!read || !this.account) return { scan };

    const blocked: BlockedThread[] = [];
    for (const t of pass.tasks) {
      if (t.state === 'D' && t.blockedNs !== null) blocked.push({ tid: t.tid, pid: t.pid, comm: t.comm, stack: t.stack, blockedNs: Number(t.blockedNs) });
    }
    const windowMs = (read.nowNs - this.account.lastReadNs) / 1e6;
    const shares = this.account.window(read, blocked);
    return { scan, offcpu: { windowMs, entries: this.entries(shares, scan) } };
  }

  close(): void {
    // The helper belongs to the collector, which detaches everything when it closes.
  }

  /**
   * The cgroup of a process that blocked in the window but was neither R nor
   * D at the sample: /proc/PID/cgroup (which takes no lock of the target's),
   * for the same path the scan would give (the kernel side only knows the
   * v2 cgroup, and on a hybrid system the scan prefers a v1 path); the v2
   * one when the process is gone.
   */
  private cgroupOf(pid: number, v2: bigint | null): string | null {
    try {
      return parseCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    } catch {
      return v2 === null ? null : this.collector.cgroups.pathOf([{ hierarchy: 0, id: v2 }]);
    }
  }

  /** Symbolised, trimmed to the depth, and summed per process and stack. */
  private entries(shares: OffcpuShare[], scan: StateScan): OffcpuEntry[] {
    if (shares.length === 0) return [];
    const syms = this.collector.kallsyms.symbols();
    const stacks = this.collector.kallsyms.symbolizeAll(
      shares.map((s) => (s.fromSwitch ? switchStackFrames(s.stack, syms) : s.stack).slice(0, this.opts.depth)),
    );
    const procs = new Map(scan.procs.map((p) => [p.pid, p]));
    const cgroups = new Map<number, string | null>();
    const out = new Map<string, OffcpuEntry>();
    shares.forEach((s, i) => {
      const stack = stacks[i]!;
      const key = `${s.pid}\0${stack.join('\n')}`;
      const e = out.get(key);
      if (e) {
        e.ms += s.ns / 1e6;
        e.ended += s.ended;
        return;
      }
      const p = procs.get(s.pid);
      let cgroup: string | null | undefined = p?.cgroup;
      if (cgroup === undefined) {
        cgroup = cgroups.get(s.pid);
        if (cgroup === undefined) cgroups.set(s.pid, (cgroup = this.cgroupOf(s.pid, s.cgroup)));
      }
      out.set(key, {
        pid: s.pid,
        comm: p?.comm ?? s.comm,
        cgroup,
        stack,
        ms: s.ns / 1e6,
        ended: s.ended,
      });
    });
    return [...out.values()];
  }
}
