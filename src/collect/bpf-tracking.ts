/**
 * Per-second samples through the eBPF helper, for `record` and `watch` with
 * --source bpf: one task-iterator pass (R/D counts per process) and the time
 * blocked in D since the previous sample, per process and kernel stack, from
 * the sched_switch/sched_wakeup tracking (docs/bpf.md, "Time blocked,
 * continuously"). The last minute of it is kept, so each capture can say
 * what the D load was made of over the minute before it (`blocked_recent`),
 * and, where the kernel has the lock tracepoints, which sleeping locks
 * threads waited for and who held them (`blocked_recent.chains`).
 *
 * The collector owns it (one helper, one reader of the tracking: the
 * kernel-side sums are drained by each read). `record` drives it from its
 * sampler; `watch` from its own timer, whose pace follows the load (pace()).
 */

import { buildChains, buildKeyedChains, type HolderState } from '../analyze/chains.ts';
import type { CgroupResolver } from '../bpf/cgroups.ts';
import type { BpfHelper } from '../bpf/helper.ts';
import { type KallsymsCache, UNKNOWN_FRAME } from '../bpf/kallsyms.ts';
import { LockAccount, type LockNaming, type LockWait } from '../bpf/locks.ts';
import { type BlockedThread, OffcpuAccount, type OffcpuShare, switchStackFrames } from '../bpf/offcpu.ts';
import { getOrCreate } from '../model/maps.ts';
import type { BlockedRecent, TaskSample } from '../model/snapshot.ts';
import type { OffcpuEntry, StateScan, StoredChain } from '../model/timeline.ts';
import { parseCgroup } from '../procfs/cgroup.ts';
import { FILE_CAP } from '../procfs/limits.ts';
import { ProcReader } from '../procfs/reader.ts';
import { normalizeFrame, SCHED_FRAME_MARK } from '../procfs/stack.ts';
import { parseTaskStat } from '../procfs/stat.ts';
import { countByProcess } from './process-counts.ts';

export interface TrackedSample {
  scan: StateScan;
  /** Absent when the tracking could not start. */
  offcpu?: { windowMs: number; entries: OffcpuEntry[] };
  /** Sleeping-lock waits in the same window; absent without lock tracking (kernels before 5.19). */
  locks?: LockWait[];
  /** The same waits as wait-for chain links (at most 10), for the recorder to store. */
  chains?: StoredChain[];
}

export interface TrackingOptions {
  /** The cause of a lock holder's stack (analyze/causes.ts through the collector); none: holder_cause null. */
  classify?: (stack: readonly string[]) => string | null;
  /** Names of static locks and block devices (defaults: none, and /sys/dev/block). */
  naming?: Partial<LockNaming>;
  /** The timer's clock (default performance.now; tests move it with their fake timers). */
  now?: () => number;
}

/** Block device names by MAJ:MIN, from /sys/dev/block/MAJ:MIN/uevent (DEVNAME); MAJ:MIN when unknown. */
export function sysfsDevName(dev: string): string {
  try {
    const m = /^DEVNAME=(.+)$/m.exec(new ProcReader().readText(`/sys/dev/block/${dev}/uevent`, FILE_CAP.wchan));
    return m ? m[1]!.trim() : dev;
  } catch {
    return dev;
  }
}

/** One sample window as kept for a minute. */
interface Recent {
  endMs: number;
  windowMs: number;
  entries: OffcpuEntry[];
  locks: LockWait[];
  /** Blocked time per stack of the threads that held a lock someone waited for in the window. */
  holderStacks: Map<number, Array<{ stack: string[]; ns: number }>>;
}

/**
 * Scheduler/lock frames of a thread waiting for a sleeping lock itself
 * (kernel/locking: rwsem.c, mutex.c, rtmutex.c, percpu-rwsem.c, semaphore.c).
 * A holder's stack that has one is a wait for a lock -- often the same one,
 * taken again -- not what it did while holding it.
 */
const LOCK_WAIT_FRAME = new RegExp(
  `^(${[
    'rwsem_down_(read|write)_slowpath',
    '__mutex_lock',
    'mutex_lock',
    '__rt_mutex_slowlock',
    'rt_mutex_slowlock',
    'rwbase_',
    'percpu_rwsem_wait',
    '__percpu_down_read',
    '__down_common',
  ].join('|')})`,
);

function isLockWait(stack: readonly string[]): boolean {
  return stack.some((f) => f.endsWith(SCHED_FRAME_MARK) && LOCK_WAIT_FRAME.test(f));
}

/** Unknown cgroups make the resolver walk the hierarchies again; at most this often. */
const CGROUP_REWALK_MS = 10_000;
/** What a capture's blocked_recent covers. */
export const RECENT_MS = 60_000;
const RECENT_TOP = 10;
/**
 * watch's sampling period while load1 is below half the threshold: the kernel
 * keeps summing the blocked time between reads, so a slower pace loses
 * nothing, it only makes the ledger's windows longer (docs/bpf.md). The
 * watcher's heartbeat (trigger/procfs-watcher.ts) has the same period, and
 * pace() samples on it when one is due, so the two share a wake-up.
 */
export const SLOW_TRACK_MS = 30_000;
/** How early pace() takes a due slow sample: well under the 5 s between load updates. */
const SLOW_EARLY_MS = 2_500;

export class BlockedTracking {
  private account: OffcpuAccount | null = null;
  private lastRewalk = 0;
  private readonly recent: Recent[] = [];
  private locks: LockAccount | null = null;
  private readonly devNames = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private timerOn = false;
  /** The timer's periods: at or above the pace level, and below it. */
  private fastMs = 1000;
  private slowMs = SLOW_TRACK_MS;
  /** Fast until the load is known. */
  private fast = true;
  private busy = false;
  /** When the timer's last sample started, on the timer's clock (`now`). */
  private lastTickAt = -Infinity;
  private warn: (line: string) => void = () => {};
  /** Intervals the kernel side lost to full maps, as last reported, and when that was last said. */
  private dropped = 0;
  private lockDropped = 0;
  private droppedSaidAt = -Infinity;
  /** Bounded, non-blocking reads (reader.ts) of the few /proc files the summary needs. */
  private readonly reader = new ProcReader();
  private readonly now: () => number;

  constructor(
    private readonly helper: BpfHelper,
    private readonly kallsyms: KallsymsCache,
    private readonly cgroups: CgroupResolver,
    private readonly depth: number,
    private readonly opts: TrackingOptions = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Attaches the tracking; false (with the reason passed to `warn`) when the kernel refuses it. */
  async start(warn: (line: string) => void): Promise<boolean> {
    this.warn = warn;
    try {
      const { startNs, locks } = await this.helper.offcpuStart(process.pid);
      this.account = new OffcpuAccount(startNs);
      if (locks) this.locks = new LockAccount(this.naming());
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

  /** Whether sleeping-lock waits are tracked (wait-for chains). */
  get tracksLocks(): boolean {
    return this.locks !== null;
  }

  /**
   * watch: sample by itself (record samples on its own clock), every
   * `periodMs` until pace() says the load is low, then every `slowMs`.
   */
  runTimer(periodMs = 1000, slowMs = SLOW_TRACK_MS): void {
    if (this.timerOn) return;
    this.timerOn = true;
    this.fastMs = periodMs;
    this.slowMs = Math.max(periodMs, slowMs);
    this.arm();
  }

  /**
   * The timer's pace for this load1 (each load update, or watch's heartbeat
   * below the level): fast at or above `level`, slow below it. Speeding up
   * samples at once, so a capture that follows finds the ledger up to date
   * rather than up to 30 s old.
   */
  pace(load1: number, level: number): void {
    const fast = load1 >= level;
    const rising = fast && !this.fast;
    this.fast = fast;
    // Slow, the sample rides this wake-up when it is nearly due; the timer stays as the backstop.
    const due = !fast && this.now() - this.lastTickAt >= this.slowMs - SLOW_EARLY_MS;
    if ((rising || due) && this.timer) {
      clearTimeout(this.timer);
      this.tick();
    }
  }

  /** The timer's current period (ms). */
  get periodMs(): number {
    return this.fast ? this.fastMs : this.slowMs;
  }

  private arm(): void {
    this.timer = setTimeout(() => this.tick(), this.periodMs);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    if (!this.timerOn) return;
    if (this.busy) {
      this.arm();
      return;
    }
    this.busy = true;
    this.lastTickAt = this.now();
    this.sample()
      .catch(() => {
        /* the helper died: the next capture reports it */
      })
      .finally(() => {
        this.busy = false;
        if (this.timerOn && !this.timer) this.arm();
      });
  }

  stop(): void {
    this.timerOn = false;
    if (this.timer) clearTimeout(this.timer);
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
      if (t.state === 'D' && t.blockedNs !== null)
        blocked.push({ tid: t.tid, pid: t.pid, comm: t.comm, stack: t.stack, blockedNs: Number(t.blockedNs) });
    }
    this.sayDropped(read.dropped, read.lockDropped, now);
    const windowMs = (read.nowNs - this.account.lastReadNs) / 1e6;
    const locks = this.locks ? this.locks.window(read) : null;
    const holders = new Set((locks ?? []).flatMap((w) => (w.holder ? [w.holder.tid] : [])));
    const holderStacks = new Map<number, Array<{ stack: string[]; ns: number }>>();
    const entries = this.entries(this.account.window(read, blocked), scan, holders, holderStacks);
    const rec = { endMs: now, windowMs, entries, locks: locks ?? [], holderStacks };
    this.remember(rec);
    const out: TrackedSample = { scan, offcpu: { windowMs, entries } };
    if (locks) {
      out.locks = locks;
      if (locks.length > 0) {
        const inPass = new Map(pass.tasks.map((t) => [t.tid, { state: t.state, stack: [] as string[] }]));
        const holder = (tid: number, pid: number): HolderState | null => this.holderState(inPass.get(tid), tid, pid, [rec]);
        out.chains = buildKeyedChains(locks, windowMs, holder, this.opts.classify ?? (() => null)).slice(0, RECENT_TOP);
      }
    }
    return out;
  }

  /**
   * The last minute's blocked time, per process and stack, for a capture
   * taken at `nowMs`, with the wait-for chains when locks are tracked.
   * `tasks`: the capture's R/D tasks (the holders' state and stack).
   */
  summary(nowMs: number, tasks: readonly TaskSample[] = []): BlockedRecent | null {
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
    const out: BlockedRecent = {
      window_ms: Math.round(windowMs),
      mean_d: windowMs > 0 ? Math.round((total / windowMs) * 1000) / 1000 : 0,
      stacks,
    };
    if (this.locks) {
      const byTid = new Map(tasks.map((t) => [t.tid, t]));
      const holder = (tid: number, pid: number): HolderState | null => this.holderState(byTid.get(tid), tid, pid, kept);
      out.chains = buildChains(
        kept.flatMap((r) => r.locks),
        windowMs,
        holder,
        this.opts.classify ?? (() => null),
      ).slice(0, RECENT_TOP);
    }
    return out;
  }

  /**
   * A holder's state now: from the capture's tasks when it is R or D there,
   * else the letter of /proc/PID/task/TID/stat (which takes no lock of the
   * target's). Its stack is what it did while others waited: the stack it
   * spent most time blocked in over the window that is not itself a lock
   * wait (a writer that held the lock and now queues for it again would
   * otherwise show the queueing); failing that the capture's stack; else none.
   */
  private holderState(
    task: Pick<TaskSample, 'state' | 'stack'> | undefined,
    tid: number,
    pid: number,
    kept: readonly Recent[],
  ): HolderState | null {
    const measured = busiestStack(kept.flatMap((r) => r.holderStacks.get(tid) ?? []));
    let state: string | null = task?.state ?? null;
    if (!task) {
      try {
        state = parseTaskStat(this.reader.readText(`/proc/${pid}/task/${tid}/stat`, FILE_CAP.stat)).state;
      } catch {
        if (!measured) return null; // gone
      }
    }
    return { state, stack: (measured ?? task?.stack ?? []).map(normalizeFrame) };
  }

  private naming(): LockNaming {
    return {
      staticName: this.opts.naming?.staticName ?? ((a) => this.kallsyms.symbols().dataSymbol(a)),
      devName: this.opts.naming?.devName ?? ((dev) => getOrCreate(this.devNames, dev, () => sysfsDevName(dev))),
    };
  }

  /** Full maps lose intervals (the time blocked reads low): said at most once a minute. */
  private sayDropped(total: number, lockTotal: number, now: number): void {
    if (lockTotal > this.lockDropped && now - this.droppedSaidAt >= RECENT_MS) {
      this.warn(`${lockTotal - this.lockDropped} lock wait(s) were lost to full tracking maps (16,384 each): the wait-for chains read low`);
      this.lockDropped = lockTotal;
      if (total <= this.dropped) this.droppedSaidAt = now;
    }
    if (total <= this.dropped) return;
    if (now - this.droppedSaidAt >= RECENT_MS) {
      this.warn(
        `${total - this.dropped} blocked interval(s) were lost since ` +
          `${this.droppedSaidAt === -Infinity ? 'the start' : 'the last such message'}: ` +
          'more threads blocked at once, or more (thread, stack) pairs per second, than the tracking maps hold (16,384 each); ' +
          'the time blocked in D reads low',
      );
      this.dropped = total;
      this.droppedSaidAt = now;
    }
  }

  private remember(r: Recent): void {
    this.recent.push(r);
    while (this.recent.length > 0 && this.recent[0]!.endMs <= r.endMs - RECENT_MS) this.recent.shift();
  }

  /** Symbolised, trimmed to the depth, and summed per process and stack. */
  private entries(
    shares: OffcpuShare[],
    scan: StateScan,
    holders: ReadonlySet<number>,
    holderStacks: Map<number, Array<{ stack: string[]; ns: number }>>,
  ): OffcpuEntry[] {
    if (shares.length === 0) return [];
    const syms = this.kallsyms.symbols();
    const kept = shares.map((s) => (s.fromSwitch ? switchStackFrames(s.stack, syms) : { stack: s.stack, sched: [] }));
    const stacks = this.kallsyms.symbolizeAll(kept.map((k) => k.stack.slice(0, this.depth)));
    // Scheduler/lock frames kept from a switch-out stack say what the thread waited for: marked.
    for (const [i, st] of stacks.entries()) {
      const sched = kept[i]!.sched;
      for (const [j, f] of st.entries()) if (sched[j] && f !== UNKNOWN_FRAME) st[j] = f + SCHED_FRAME_MARK;
    }
    for (const [i, s] of shares.entries()) {
      if (!holders.has(s.tid) || isLockWait(stacks[i]!)) continue;
      getOrCreate(holderStacks, s.tid, () => []).push({ stack: stacks[i]!, ns: s.ns });
    }
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
        cgroup = getOrCreate(cgroups, s.pid, () => this.cgroupOf(s.pid, s.cgroup));
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
      return parseCgroup(this.reader.readText(`/proc/${pid}/cgroup`, FILE_CAP.cgroup));
    } catch {
      return v2 === null ? null : this.cgroups.pathOf([{ hierarchy: 0, id: v2 }]);
    }
  }
}

/** The stack with the most time among these (summed per stack), or null. */
function busiestStack(list: ReadonlyArray<{ stack: string[]; ns: number }>): string[] | null {
  const by = new Map<string, { stack: string[]; ns: number }>();
  for (const x of list) {
    const k = x.stack.join('\n');
    const e = by.get(k);
    if (e) e.ns += x.ns;
    else by.set(k, { ...x });
  }
  let best: { stack: string[]; ns: number } | null = null;
  for (const e of by.values()) if (!best || e.ns > best.ns) best = e;
  return best?.stack ?? null;
}
