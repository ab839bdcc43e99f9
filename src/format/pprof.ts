/**
 * pprof (`profile.proto`, gzipped) for continuous-profiling systems (go tool
 * pprof, Pyroscope, Parca): the load's tasks as samples, their kernel (and
 * sampled user) frames as locations. docs/pprof.md documents the mapping.
 *
 * Four sample types, every sample carrying all four values:
 *   blocked/nanoseconds   time blocked in D, measured by --source bpf's
 *                         off-CPU tracking (a capture: its blocked_recent;
 *                         a period: the store's per-sample totals)
 *   d_observations/count  D tasks seen in captures (one per task per capture)
 *   r_observations/count  R tasks seen in captures
 *   cpu_samples/count     on-CPU samples (49 Hz) of profiled R tasks (--profile)
 *
 * Encoding is pprof-format's (DataDog's encoder), not hand-written protobuf.
 * Addresses are never written: every location has address 0 and its mapping
 * has no address range (kernel addresses are never printed; user ones are
 * not kept either). Names from tasks, binaries and the kernel are escaped
 * (escape.ts): pprof, Pyroscope and Parca print them to terminals and pages.
 */

import { gzipSync } from 'node:zlib';

import {
  type FunctionInput,
  type LabelInput,
  type LocationInput,
  type MappingInput,
  Profile,
  type SampleInput,
  StringTable,
} from 'pprof-format';

import { blockedCause } from '../analyze/blocked.ts';
import { frameSymbol } from '../analyze/causes.ts';
import { captureRelabel, type Relabel } from '../analyze/limits.ts';
import { taskStack } from '../analyze/stacks.ts';
import type { CauseId } from '../model/cause.ts';
import type { Snapshot, TaskSample, TaskState } from '../model/snapshot.ts';
import type { OffcpuEntry } from '../model/timeline.ts';
import { normalizeFrame } from '../procfs/stack.ts';
import { escapeText } from './escape.ts';

export const PPROF_SAMPLE_TYPES = [
  { type: 'blocked', unit: 'nanoseconds' },
  { type: 'd_observations', unit: 'count' },
  { type: 'r_observations', unit: 'count' },
  { type: 'cpu_samples', unit: 'count' },
] as const;

/** The profiler's rate (docs/bpf.md, `--profile`): one cpu_sample stands for 1/49 s on a CPU. */
const PROFILE_HZ = 49;

/**
 * Distinct samples kept with a pid label. Past it, new (process, stack)
 * pairs are merged without their pid, so the totals stay exact while the
 * profile stays bounded by the distinct stacks and commands.
 */
export const MAX_PID_SAMPLES = 100_000;

/** The mapping of kernel frames outside modules (vmlinux); modules are `[name]` as /proc/PID/stack prints them. */
export const KERNEL_MAPPING = '[kernel]';

/** blocked, d_observations, r_observations, cpu_samples: PPROF_SAMPLE_TYPES' order. */
type Values = [number, number, number, number];

/** One unit of load: a task seen in a capture, or a process's time blocked in one stack. */
export interface ProfileTask {
  state: TaskState;
  cause: CauseId;
  comm: string;
  pid: number;
  cgroup: string | null;
  /** Innermost first, as /proc/PID/stack prints them. */
  kernel: readonly string[];
  /** Innermost first, `func+0xoff/0xsize (file)`, `? (file)` or `?` (docs/bpf.md). */
  user: readonly string[];
  values: Values;
}

export interface ProfileMeta {
  /** Start of what the profile covers, ms since the epoch. */
  timeMs: number;
  durationMs: number;
  comments: string[];
}

/** A period to profile: its captures, streamed, and its measured time blocked per process and stack. */
export interface PeriodProfileSource {
  snapshots: Iterable<Snapshot>;
  blocked: readonly OffcpuEntry[];
  /** The report's cgroup-limit relabelling (analyze/limits.ts), so causes match the verdict. */
  relabel: Relabel | null;
}

/**
 * The profile of one capture: its tasks and, with --source bpf, its
 * blocked_recent; causes relabelled by the capture's own evidence of cgroup
 * limits, as its verdict (capture-verdict.ts) relabels them.
 */
export function captureProfile(snap: Snapshot, comment: string): Uint8Array {
  const b = new PprofBuilder();
  const relabel = captureRelabel(snap);
  for (const t of snap.tasks) for (const x of observed(t, relabel)) b.add(x);
  const recent = snap.blocked_recent;
  if (recent) {
    let itemised = 0;
    for (const s of recent.stacks) {
      itemised += s.blocked_ms;
      b.add(blockedTask({ ...s, ms: s.blocked_ms, ended: s.ended }, relabel));
    }
    // mean_d (3 decimals) also counts the pairs past the ten listed: the rest is one pseudo-frame.
    const rest = recent.mean_d * recent.window_ms - itemised;
    if (rest > recent.window_ms * 0.0005) b.add(notItemised(rest));
  }
  const window = Math.max(recent?.window_ms ?? 0, snap.capture.profile_ms ?? 0);
  const end = Date.parse(snap.time);
  return b.encode({ timeMs: end - (recent?.window_ms ?? 0), durationMs: window, comments: [comment] });
}

/** The profile of a period: every capture's tasks and every measured blockage of the store. */
export function periodProfile(src: PeriodProfileSource, meta: (captures: number) => ProfileMeta): Uint8Array {
  const b = new PprofBuilder();
  let captures = 0;
  for (const snap of src.snapshots) {
    captures++;
    for (const t of snap.tasks) for (const x of observed(t, src.relabel)) b.add(x);
  }
  for (const e of src.blocked) b.add(blockedTask(e, src.relabel));
  return b.encode(meta(captures));
}

/**
 * A task seen in a capture: one observation of its state where it was at
 * that instant (kernel frames, then user frames outward, as the flame graphs
 * draw it) and, when profiled, its on-CPU samples in its most sampled user
 * stack alone (the snapshot keeps only that one). The two are apart because
 * the kernel stack is the capture's instant (often an interrupt return) while
 * the samples are where the CPU time went: -sample_index=cpu_samples must
 * show user functions, not irqentry_exit_to_user_mode.
 */
export function observed(t: TaskSample, relabel: Relabel | null): ProfileTask[] {
  const { cause } = taskStack(t, relabel);
  const task = { state: t.state, cause, comm: t.comm, pid: t.pid, cgroup: t.cgroup };
  const user = t.user_stack ?? [];
  const seen: ProfileTask = { ...task, kernel: t.stack, user, values: [0, t.state === 'D' ? 1 : 0, t.state === 'R' ? 1 : 0, 0] };
  if (!t.samples) return [seen];
  const cpu: ProfileTask = { ...task, kernel: user.length > 0 ? [] : t.stack, user, values: [0, 0, 0, t.samples] };
  return [seen, cpu];
}

/** A process's time blocked in D in one stack (blockedCause: the report's rule). */
export function blockedTask(e: OffcpuEntry, relabel: Relabel | null): ProfileTask {
  const { cause } = blockedCause(e, relabel);
  return { state: 'D', cause, comm: e.comm, pid: e.pid, cgroup: e.cgroup, kernel: e.stack, user: [], values: [ns(e.ms), 0, 0, 0] };
}

function notItemised(ms: number): ProfileTask {
  return { state: 'D', cause: 'unknown', comm: '', pid: 0, cgroup: null, kernel: [NOT_ITEMISED], user: [], values: [ns(ms), 0, 0, 0] };
}

/** The frame of a capture's blocked time beyond its ten listed (process, stack) pairs. */
export const NOT_ITEMISED = '[D: blocked time not itemised in the capture]';

function ns(ms: number): number {
  return Math.round(ms * 1e6);
}

interface Frame {
  name: string;
  /** The mapping's file: `[kernel]`, `[module]`, a binary's path; '' for pseudo-frames. */
  file: string;
}

/** `io_schedule+0x42/0x70 [sched]` → io_schedule in [kernel]; `nfs_foo+0x1/0x2 [nfs]` → nfs_foo in [nfs]; `[R: …]` pseudo. */
export function kernelFrame(raw: string): Frame {
  const f = normalizeFrame(raw.trim());
  if (f.startsWith('[')) return { name: escapeText(f), file: '' };
  // The symbol as the cause table reads it; what follows it is the module, or the bpf [sched] mark.
  const sym = frameSymbol(f);
  const mod = f.slice(sym.length).trim();
  return { name: escapeText(sym), file: mod === '' || mod === '[sched]' ? KERNEL_MAPPING : escapeText(mod) };
}

/** `main+0x1a/0x40 (/usr/bin/x)` → main in /usr/bin/x; `? (/usr/bin/x)` keeps its file in the name (no symbol to tell them apart). */
export function userFrame(raw: string): Frame {
  const f = normalizeFrame(raw.trim());
  const open = f.lastIndexOf(' (');
  if (open < 0 || !f.endsWith(')')) return { name: escapeText(f), file: '' };
  const sym = f.slice(0, open);
  const file = escapeText(f.slice(open + 2, -1));
  return { name: sym === '?' ? escapeText(f) : escapeText(sym), file };
}

/** Leaf first, as pprof wants: the kernel frames (innermost first), then the user frames outward. */
export function taskFrames(t: Pick<ProfileTask, 'state' | 'kernel' | 'user'>): Frame[] {
  const frames = [...t.kernel.map(kernelFrame), ...t.user.map(userFrame)];
  return frames.length > 0 ? frames : [{ name: `[${t.state}: no kernel stack]`, file: '' }];
}

class PprofBuilder {
  private readonly strings = new StringTable();
  private readonly mappingIds = new Map<string, number>();
  private readonly functionIds = new Map<string, number>();
  private readonly locationIds = new Map<string, number>();
  private readonly mappings: MappingInput[] = [];
  private readonly functions: FunctionInput[] = [];
  private readonly locations: LocationInput[] = [];
  private readonly samples = new Map<string, SampleInput & { value: number[] }>();
  private readonly totals: Values = [0, 0, 0, 0];

  add(t: ProfileTask): void {
    const locs = taskFrames(t).map((f) => this.location(f));
    const base = [t.state, t.cause, t.comm, t.cgroup ?? '', locs.join(',')].join('\0');
    let key = `${base}\0${t.pid}`;
    let pid: number | null = t.pid;
    if (!this.samples.has(key) && this.samples.size >= MAX_PID_SAMPLES) {
      key = `${base}\0-`;
      pid = null;
    }
    let s = this.samples.get(key);
    if (!s) {
      s = { locationId: locs, value: [0, 0, 0, 0], label: this.labels(t, pid) };
      this.samples.set(key, s);
    }
    for (let i = 0; i < 4; i++) {
      s.value[i]! += t.values[i]!;
      this.totals[i]! += t.values[i]!;
    }
  }

  encode(meta: ProfileMeta): Uint8Array {
    const str = (s: string) => this.strings.dedup(s);
    // The first type with something in it (blocked time when measured): what a viewer opens on.
    const first = this.totals.findIndex((v) => v > 0);
    const profile = new Profile({
      sampleType: PPROF_SAMPLE_TYPES.map((v) => ({ type: str(v.type), unit: str(v.unit) })),
      sample: [...this.samples.values()],
      mapping: this.mappings,
      location: this.locations,
      function: this.functions,
      stringTable: this.strings,
      timeNanos: BigInt(Math.round(meta.timeMs)) * 1_000_000n,
      durationNanos: BigInt(Math.max(0, Math.round(meta.durationMs))) * 1_000_000n,
      periodType: { type: str('cpu'), unit: str('nanoseconds') },
      period: Math.round(1e9 / PROFILE_HZ),
      comment: meta.comments.map((c) => str(escapeText(c))),
      defaultSampleType: str(PPROF_SAMPLE_TYPES[first < 0 ? 1 : first]!.type),
    });
    return gzipSync(profile.encode());
  }

  private labels(t: ProfileTask, pid: number | null): LabelInput[] {
    const str = (s: string) => this.strings.dedup(s);
    const out: LabelInput[] = [
      { key: str('state'), str: str(t.state) },
      { key: str('cause'), str: str(t.cause) },
    ];
    if (t.comm !== '') out.push({ key: str('comm'), str: str(escapeText(t.comm)) });
    if (pid !== null && pid > 0) out.push({ key: str('pid'), num: pid });
    if (t.cgroup !== null) out.push({ key: str('cgroup'), str: str(escapeText(t.cgroup)) });
    return out;
  }

  /** One location per (file, function): with no addresses, a frame is its function. */
  private location(f: Frame): number {
    const key = `${f.file}\0${f.name}`;
    return intern(this.locationIds, key, (id) => {
      const mappingId = f.file === '' ? 0 : this.mapping(f.file);
      this.locations.push({ id, mappingId, address: 0, line: [{ functionId: this.fn(f.name) }] });
    });
  }

  private fn(name: string): number {
    return intern(this.functionIds, name, (id) => {
      const n = this.strings.dedup(name);
      this.functions.push({ id, name: n, systemName: n });
    });
  }

  private mapping(file: string): number {
    // No address range: loadmon writes no addresses. Functions are known, so pprof does not try to symbolise.
    return intern(this.mappingIds, file, (id) => {
      this.mappings.push({ id, filename: this.strings.dedup(file), hasFunctions: true });
    });
  }
}

/** The id of `key`, made (1-based: pprof's id 0 means none) and announced to `made` on first sight. */
function intern(ids: Map<string, number>, key: string, made: (id: number) => void): number {
  let id = ids.get(key);
  if (id === undefined) {
    id = ids.size + 1;
    ids.set(key, id);
    made(id);
  }
  return id;
}
