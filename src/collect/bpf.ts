/**
 * The eBPF collector (--source bpf): one pass of a BPF task iterator over
 * every thread, done in the kernel by the helper process (src/bpf/helper.ts,
 * bpf/loadmon-bpf.c), which returns only the R and D threads with their
 * kernel stacks as addresses, their cgroup ids and, for D, how long they
 * have been off CPU. This side symbolises (kallsyms.ts), resolves cgroups
 * (cgroups.ts) and, with a profile window, attaches on-CPU samples and user
 * stacks to the R threads (usersym.ts).
 *
 * Unlike procfs it never opens a file of the tasks it captures, so a task
 * holding its exec or mmap lock cannot make it wait; the one exception,
 * /proc/PID/maps for user-stack symbolisation, is read only for R tasks that
 * were sampled, after the capture, by the helper under a deadline.
 */

import { hostname } from 'node:os';

import { CAUSES, classifyStack } from '../analyze/causes.ts';
import { bpfUnavailable, helperPath } from '../bpf/availability.ts';
import { CgroupResolver } from '../bpf/cgroups.ts';
import { BpfHelper, type HelperProfile } from '../bpf/helper.ts';
import { KallsymsCache } from '../bpf/kallsyms.ts';
import type { MapRecord } from '../bpf/protocol.ts';
import { UserSymbolizer } from '../bpf/usersym.ts';
import { sourceUnavailable } from '../errors.ts';
import { SNAPSHOT_SCHEMA, type Snapshot, type TaskSample } from '../model/snapshot.ts';
import { countCpus } from '../procfs/cpus.ts';
import { FILE_CAP } from '../procfs/limits.ts';
import { parseLoadavg } from '../procfs/loadavg.ts';
import { type ProcReader, readerFor, readRequired } from '../procfs/reader.ts';
import { normalizeFrame } from '../procfs/stack.ts';
import { epochMs } from './assemble.ts';
import { BlockedTracking } from './bpf-tracking.ts';
import type { CaptureOptions, Collector } from './collector.ts';
import { leaveOutOwn, ownThreadsField, registerOwnProcess } from './self.ts';

export interface BpfCollectorOptions {
  /** Where loadavg and stat are read (the tasks always come from the running kernel). */
  procRoot?: string;
  helperPath?: string;
  /** On-CPU sampling window after the capture, ms; 0: none. */
  profileMs?: number;
  /** Sampling frequency per CPU (49 Hz: not a multiple of common timer rates). */
  profileHz?: number;
  /** Deadline for reading the sampled processes' /proc/PID/maps. */
  mapsTimeoutMs?: number;
}

export const DEFAULT_PROFILE_HZ = 49;
const DEFAULT_MAPS_TIMEOUT_MS = 1000;

export class BpfCollector implements Collector {
  readonly source = 'bpf' as const;
  private readonly root: string;
  private readonly path: string;
  private helper: Promise<BpfHelper> | null = null;
  private readonly reader: ProcReader;
  /** Shared with the recorder's sampler (src/record/bpf-scan.ts), which uses the same helper. */
  readonly kallsyms: KallsymsCache;
  readonly cgroups: CgroupResolver;
  private readonly users: UserSymbolizer;
  private tracking: Promise<BlockedTracking> | null = null;
  private forgetHelper = (): void => {};

  constructor(private readonly opts: BpfCollectorOptions = {}) {
    this.root = (opts.procRoot ?? '/proc').replace(/\/+$/, '') || '/';
    this.reader = readerFor(this.root);
    this.path = opts.helperPath ?? helperPath();
    this.kallsyms = new KallsymsCache('/proc');
    this.cgroups = new CgroupResolver('/proc');
    this.users = new UserSymbolizer('/proc');
  }

  /** Starts the helper now (it is otherwise started by the first capture). Throws E_SOURCE_UNAVAILABLE. */
  start(): Promise<BpfHelper> {
    if (!this.helper) {
      const why = bpfUnavailable(this.path);
      this.helper = why ? Promise.reject(sourceUnavailable('bpf', why)) : BpfHelper.start(this.path);
      // loadmon's own (self.ts), for the other collectors of this process (the light scan, a procfs
      // fallback); in its own passes the helper leaves its threads out in the kernel.
      this.helper.then(
        (h) => {
          this.forgetHelper = registerOwnProcess(h.pid);
        },
        () => {}, // a failure is observed by the caller of capture()
      );
    }
    return this.helper;
  }

  /**
   * The per-second samples and, where the kernel allows it, the
   * time-blocked-in-D tracking (started once; later calls return the same).
   * `timer`: sample every second by itself (watch); otherwise the caller
   * samples (record). A refused tracking is said through `warn` and the
   * samples go on without it. Throws E_SOURCE_UNAVAILABLE.
   */
  track(depth: number, warn: (line: string) => void, timer: boolean): Promise<BlockedTracking> {
    this.tracking ??= (async () => {
      const t = new BlockedTracking(await this.start(), this.kallsyms, this.cgroups, depth, { classify: holderCause });
      if ((await t.start(warn)) && timer) t.runTimer();
      return t;
    })();
    return this.tracking;
  }

  async capture(opts: CaptureOptions): Promise<Snapshot> {
    const helper = await this.start();
    const profileMs = this.opts.profileMs ?? 0;
    const startedAt = epochMs();
    const notes: string[] = [];
    let profiling = false;
    if (profileMs > 0) {
      try {
        await helper.profileStart(this.opts.profileHz ?? DEFAULT_PROFILE_HZ);
        profiling = true;
      } catch (err) {
        notes.push(`no user stacks: ${(err as Error).message}`);
      }
    }
    const loadavg = parseLoadavg(readRequired(`${this.root}/loadavg`, FILE_CAP.loadavg, this.reader));
    // skip=0: loadmon's own threads come back and are left out and counted here, like procfs does.
    const snap = await helper.snapshot(opts.depth, 0);
    const ownThreads = leaveOutOwn(snap.tasks);
    const time = new Date(startedAt).toISOString();
    const cpus = countCpus(readRequired(`${this.root}/stat`, FILE_CAP.table, this.reader));

    this.cgroups.beginCapture();
    const kstacks = this.kallsyms.symbolizeAll(snap.tasks.map((t) => t.stack));
    let stackErrors = 0;
    let runningEmpty = 0;
    const tasks: TaskSample[] = snap.tasks.map((t, i) => {
      const stack = kstacks[i]!;
      if (t.stackError !== null) stackErrors++;
      else if (t.state === 'R' && stack.length === 0 && opts.depth > 0) runningEmpty++;
      const task: TaskSample = {
        pid: t.pid,
        tid: t.tid,
        comm: t.comm,
        state: t.state,
        stack,
        // The stack of a sleeping task starts past the scheduler's functions,
        // at the function procfs's wchan names.
        wchan: t.state === 'D' && stack[0] && stack[0] !== '?' ? normalizeFrame(stack[0]).replace(/ \[.*\]$/, '') : null,
        cgroup: this.cgroups.pathOf(t.cgroups),
      };
      if (t.state === 'D' && t.blockedNs !== null) task.blocked_ms = Number(t.blockedNs / 1000n) / 1000;
      return task;
    });
    const captureMs = Math.round((epochMs() - startedAt) * 100) / 100;

    if (stackErrors > 0) notes.push(`kernel stacks of ${stackErrors} task(s) could not be read (exiting tasks)`);
    if (runningEmpty > 0) {
      notes.push(`${runningEmpty} R task(s) have no kernel stack: the kernel does not unwind a task while it runs on another CPU`);
    }
    for (const e of snap.errors) notes.push(`the task iterator reported: ${e}`);

    if (profiling) {
      const left = startedAt + profileMs - epochMs();
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      const profile = await helper.profileStop();
      await this.attachUserStacks(helper, tasks, profile, notes);
    }

    const out: Snapshot = {
      schema: SNAPSHOT_SCHEMA,
      time,
      host: hostname(),
      source: 'bpf',
      cpus,
      loadavg,
      trigger: opts.trigger ?? null,
      capture: {
        ms: captureMs,
        threads_scanned: snap.end.threads,
        walk_ms: Math.round(snap.end.walkNs / 10_000) / 100,
        ...(profiling ? { profile_ms: profileMs } : {}),
        ...ownThreadsField(ownThreads),
      },
      tasks,
      notes,
    };
    const recent = this.tracking ? (await this.tracking).summary(startedAt, tasks) : null;
    if (recent) out.blocked_recent = recent;
    return out;
  }

  close(): void {
    void this.tracking?.then(
      (t) => t.stop(),
      () => {},
    );
    const h = this.helper;
    this.helper = null;
    this.forgetHelper();
    void h?.then(
      (x) => x.close(),
      () => {},
    );
  }

  /** On-CPU samples and the most sampled user stack, for the R tasks only. */
  private async attachUserStacks(helper: BpfHelper, tasks: TaskSample[], profile: HelperProfile, notes: string[]): Promise<void> {
    const byTid = new Map<number, { total: number; best: number | null; bestCount: number }>();
    for (const s of profile.samples) {
      const e = byTid.get(s.tid) ?? { total: 0, best: null, bestCount: 0 };
      e.total += s.count;
      if (s.stackId !== null && s.count > e.bestCount) {
        e.best = s.stackId;
        e.bestCount = s.count;
      }
      byTid.set(s.tid, e);
    }
    const rTasks = tasks.filter((t) => t.state === 'R');
    for (const t of rTasks) t.samples = byTid.get(t.tid)?.total ?? 0;
    const withStack = rTasks.filter((t) => byTid.get(t.tid)?.best != null && profile.stacks.has(byTid.get(t.tid)!.best!));
    const pids = [...new Set(withStack.map((t) => t.pid))];
    // maps takes mmap_lock: read for sampled R processes only, never for D ones, under a deadline.
    const { maps, failed } = await helper.maps(pids, this.opts.mapsTimeoutMs ?? DEFAULT_MAPS_TIMEOUT_MS);
    const mapsOf = new Map<number, MapRecord[]>();
    for (const m of maps) {
      const l = mapsOf.get(m.pid) ?? [];
      l.push(m);
      mapsOf.set(m.pid, l);
    }
    for (const t of withStack) {
      const addrs = profile.stacks.get(byTid.get(t.tid)!.best!)!;
      t.user_stack = this.users.symbolize(t.pid, [addrs], mapsOf.get(t.pid) ?? [])[0]!;
    }
    const timedOut = [...failed].filter(([, why]) => why === 'timeout').map(([pid]) => pid);
    if (timedOut.length > 0) {
      notes.push(`reading /proc/PID/maps of ${timedOut.join(', ')} blocked (mmap_lock held?): their user stacks are not symbolised`);
    }
  }
}

/** A lock holder's own wait, one step further: "block I/O / writeback, waiting for bio" (the verdict's cause model). */
function holderCause(stack: readonly string[]): string | null {
  const c = classifyStack(stack);
  if (c.cause === 'unknown') return null;
  return `${CAUSES[c.cause].label}${c.waits_for ? `, waiting for ${c.waits_for}` : ''}`;
}
