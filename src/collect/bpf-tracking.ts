/**
 * Per-second samples through the eBPF helper, for `record` and `watch` with
 * --source bpf: one task-iterator pass (R/D counts per process) and the time
 * blocked in D since the previous sample, per process and kernel stack, from
 * the sched_switch/sched_wakeup tracking (docs/bpf.md, "Time blocked,
 * continuously"). The last minute of it is kept, so each capture can say
 * what the D load was made of over the minute before it (`blocked_recent`).
 *
 * The collector owns it (one helper, one reader of the tracking: the
 * kernel-side sums are drained by each read). `record` drives it from its
 * sampler; `watch` from a 1 s timer.
 */

import { readFileSync } from 'node:fs';

import type { BpfHelper } from '../bpf/helper.ts';
import { type BlockedThread, OffcpuAccount, type OffcpuShare, switchStackFrames } from '../bpf/offcpu.ts';
import type { BlockedRecent } from '../model/snapshot.ts';
import type { OffcpuEntry, StateScan } from '../model/timeline.ts';
import { parseCgroup } from '../procfs/cgroup.ts';
import { countByProcess } from './process-counts.ts';
import type { CgroupResolver } from '../bpf/cgroups.ts';
import type { KallsymsCache } from '../bpf/kallsyms.ts';

export interface TrackedSample {
  scan: StateScan;
  /** Absent when the tracking could not start. */
  offcpu?: { windowMs: number; entries: OffcpuEntry[] };
}

/** Unknown cgroups make the resolver walk the hierarchies again; at most this often. */
const CGROUP_REWALK_MS = 10_000;
/** What a capture's blocked_recent covers. */
export const RECENT_MS = 60_000;
const RECENT_TOP = 10;

export class BlockedTracking {
  private account: OffcpuAccount | null = null;
  private lastRewalk = 0;
  private readonly recent: Array<{ endMs: number; windowMs: number; entries: OffcpuEntry[] }> = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private warn: (line: string) => void = () => {};
  /** Intervals the kernel side lost to full maps, as last reported, and when that was last said. */
  private dropped = 0;
  private droppedSaidAt = -Infinity;

  constructor(
    private readonly helper: BpfHelper,
    private readonly kallsyms: KallsymsCache,
    private readonly cgroups: CgroupResolver,
    private readonly depth: number,
  ) {}

  /** Attaches the tracking; false (with the reason passed to `warn`) when the kernel refuses it. */
  async start(warn: (line: string) => void): Promise<boolean> {
    this.warn = warn;
    try {
      this.account = new OffcpuAccount(await this.helper.offcpuStart(process.pid));
      // Read now (~0.2 s, once) rather than at the first blockage.
      this.kallsyms.symbols();
      return true;
    } catch (err) {
      warn(`time blocked in D is not tracked: ${(err as Error).message}`);
      return false;
    }
  }

  get active(): boolean {
    return this.account !== null;
  }

  /** watch: sample every second by itself (record samples on its own clock). */
  runTimer(periodMs = 1000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.sample()
        .catch(() => {
          /* the helper died: the next capture reports it */
        })
        .finally(() => (this.busy = false));
    }, periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async sample(): Promise<TrackedSample> {
    const { offcpu: read, pass } = await this.helper.sample(this.depth, process.pid);
    const now = Date.now();
    if (now - this.lastRewalk >= CGROUP_REWALK_MS) {
      this.cgroups.beginCapture();
      this.lastRewalk = now;
    }
    const cgroupOfPid = new Map<number, string | null>();
    for (const t of pass.tasks) if (!cgroupOfPid.has(t.pid)) cgroupOfPid.set(t.pid, this.cgroups.pathOf(t.cgroups));
    const scan = countByProcess(pass.tasks, (pid) => cgroupOfPid.get(pid) ?? null);
    if (!read || !this.account) return { scan };

    const blocked: BlockedThread[] = [];
    for (const t of pass.tasks) {
      if (t.state === 'D' && t.blockedNs !== null) blocked.push({ tid: t.tid, pid: t.pid, comm: t.comm, stack: t.stack, blockedNs: Number(t.blockedNs) });
    }
    this.sayDropped(read.dropped, now);
    const windowMs = (read.nowNs - this.account.lastReadNs) / 1e6;
    const entries = this.entries(this.account.window(read, blocked), scan);
    this.remember(now, windowMs, entries);
    return { scan, offcpu: { windowMs, entries } };
  }

  /** The last minute's blocked time, per process and stack, for a capture taken at `nowMs`. */
  summary(nowMs: number): BlockedRecent | null {
    const kept = this.recent.filter((r) => r.endMs > nowMs - RECENT_MS);
    if (kept.length === 0) return null;
    const windowMs = kept.reduce((a, r) => a + r.windowMs, 0);
    const by = new Map<string, BlockedRecent['stacks'][number]>();
    let total = 0;
    for (const r of kept) {
      for (const e of r.entries) {
        total += e.ms;
        const key = `${e.pid}\0${e.stack.join('\n')}`;
        const x = by.get(key);
        if (x) {
          x.blocked_ms += e.ms;
          x.ended += e.ended;
        } else {
          by.set(key, { pid: e.pid, comm: e.comm, cgroup: e.cgroup, stack: e.stack, blocked_ms: e.ms, ended: e.ended });
        }
      }
    }
    const stacks = [...by.values()].sort((a, b) => b.blocked_ms - a.blocked_ms).slice(0, RECENT_TOP);
    for (const s of stacks) s.blocked_ms = Math.round(s.blocked_ms * 1000) / 1000;
    return { window_ms: Math.round(windowMs), mean_d: windowMs > 0 ? Math.round((total / windowMs) * 1000) / 1000 : 0, stacks };
  }

  /** Full maps lose intervals (the time blocked reads low): said at most once a minute. */
  private sayDropped(total: number, now: number): void {
    if (total <= this.dropped) return;
    if (now - this.droppedSaidAt >= RECENT_MS) {
      this.warn(
        `${total - this.dropped} blocked interval(s) were lost since ${this.droppedSaidAt === -Infinity ? 'the start' : 'the last such message'}: ` +
          'more threads blocked at once, or more (thread, stack) pairs per second, than the tracking maps hold (16,384 each); the time blocked in D reads low',
      );
      this.dropped = total;
      this.droppedSaidAt = now;
    }
  }

  private remember(endMs: number, windowMs: number, entries: OffcpuEntry[]): void {
    this.recent.push({ endMs, windowMs, entries });
    while (this.recent.length > 0 && this.recent[0]!.endMs <= endMs - RECENT_MS) this.recent.shift();
  }

  /** Symbolised, trimmed to the depth, and summed per process and stack. */
  private entries(shares: OffcpuShare[], scan: StateScan): OffcpuEntry[] {
    if (shares.length === 0) return [];
    const syms = this.kallsyms.symbols();
    const stacks = this.kallsyms.symbolizeAll(shares.map((s) => (s.fromSwitch ? switchStackFrames(s.stack, syms) : s.stack).slice(0, this.depth)));
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
      out.set(key, { pid: s.pid, comm: p?.comm ?? s.comm, cgroup, stack, ms: s.ns / 1e6, ended: s.ended });
    });
    return [...out.values()];
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
      return v2 === null ? null : this.cgroups.pathOf([{ hierarchy: 0, id: v2 }]);
    }
  }
}
