/**
 * Evidence beyond stacks (issue 10, item 4): what the block devices, the
 * memory manager and the cgroups of the load-making tasks did over a window,
 * from counter deltas between two calls of EvidenceSampler.sample().
 *
 * Meant to run every second in a recorder on a sick system, so:
 * - every read is a synchronous read into one reused buffer (ProcReader);
 *   only files that never take a task's locks are read (/proc/PID/cgroup,
 *   not cmdline or maps), and no cgroup file that takes cgroup_mutex
 *   (cgroup.procs, tasks);
 * - nothing throws for a missing or unreadable file: a vanished pid is
 *   skipped, an unreadable cgroup file drops that kind for that cgroup, a
 *   missing /proc/diskstats gives no devices, a missing /proc/vmstat memory null;
 * - memory is bounded: at most MAX_PIDS pids per call, MAX_CGROUPS cached
 *   cgroup readings (least recently used dropped), one reading per device.
 */

import { existsSync, readdirSync } from 'node:fs';

import type { CgroupLimitEvidence, DeviceEvidence, Evidence, MemoryEvidence } from '../model/evidence.ts';
import { parseCgroupPaths } from '../procfs/cgroup.ts';
import { type CgroupMount, parseCgroupMounts } from '../procfs/cgroup-limits.ts';
import { DISK_COUNTER_FIELDS, type DiskCounters, parseDiskstats } from '../procfs/diskstats.ts';
import { ProcReader } from '../procfs/reader.ts';
import { parseVmstat, type VmCounters } from '../procfs/vmstat.ts';
import { cpuV1, cpuV2, type Hierarchy, ioV1, ioV2, type LimitKindReader, memoryV1, memoryV2 } from './evidence-cgroups.ts';

export interface EvidenceOptions {
  /** Default /proc. */
  procRoot?: string;
  /** Default /sys (block devices: SYS/class/block). */
  sysRoot?: string;
  /** Default /sys/fs/cgroup: mount points mountinfo lists under /sys/fs/cgroup are read here instead. */
  cgroupRoot?: string;
}

/** Pids looked at per call (the brief's bound: the biggest load makers come first). */
export const MAX_PIDS = 64;
/** Cgroup readings kept between calls. */
export const MAX_CGROUPS = 256;
/** Limits change rarely (an operator's echo): re-read them this often; counters are read every call. */
export const LIMITS_TTL_MS = 10_000;
/** A cgroup reading older than this is no baseline: its deltas would average over minutes. */
export const STALE_MS = 60_000;
/** Mounts are re-read when a pid names a hierarchy we have no mount for, at most this often. */
const MOUNTS_TTL_MS = 10_000;

const SECTOR_BYTES = 512;
const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

type AnyKind = LimitKindReader<unknown, unknown>;

/** v1 controller name and the v1/v2 readers of each limit kind. */
const KINDS: ReadonlyArray<{ controller: string; v1: AnyKind; v2: AnyKind }> = [
  { controller: 'memory', v1: memoryV1 as AnyKind, v2: memoryV2 as AnyKind },
  { controller: 'blkio', v1: ioV1 as AnyKind, v2: ioV2 as AnyKind },
  { controller: 'cpu', v1: cpuV1 as AnyKind, v2: cpuV2 as AnyKind },
];

/** One cgroup directory seen through one limit kind. */
interface CgroupTarget {
  reader: AnyKind;
  hierarchy: Hierarchy;
  /** As /proc/PID/cgroup prints it. */
  path: string;
  dir: string;
}

interface CgroupEntry {
  limits: unknown | null;
  limitsAt: number;
  counters: unknown | null;
  countersAt: number;
}

export class EvidenceSampler {
  private readonly proc: string;
  private readonly sys: string;
  private readonly cgroupRoot: string;
  private readonly reader = new ProcReader(16384);
  private prevMs: number | null = null;
  private prevDisks = new Map<string, DiskCounters>();
  private prevVm: VmCounters | null = null;
  /** Kernel name -> whole device (true) or partition (false). */
  private wholeDevice = new Map<string, boolean>();
  private mounts: CgroupMount[] | null = null;
  private mountsAt = -Infinity;
  /** Insertion order is recency: the first key is the least recently used. */
  private readonly cgroups = new Map<string, CgroupEntry>();

  constructor(opts: EvidenceOptions = {}) {
    this.proc = trimSlash(opts.procRoot ?? '/proc');
    this.sys = trimSlash(opts.sysRoot ?? '/sys');
    this.cgroupRoot = trimSlash(opts.cgroupRoot ?? DEFAULT_CGROUP_ROOT);
  }

  /**
   * Reads the counters now; returns the evidence over the window since the
   * previous call (null on the first call, or when the clock did not advance:
   * no window yet). `pids`: processes that have R or D threads now, most
   * threads first; at most MAX_PIDS are looked at.
   */
  sample(nowMs: number, pids: readonly number[]): Evidence | null {
    const windowMs = this.prevMs === null ? null : nowMs - this.prevMs;
    const ok = windowMs !== null && windowMs > 0;
    const devices = this.sampleDevices(ok ? windowMs : null);
    const memory = this.sampleMemory(ok ? windowMs : null);
    const cgroups = this.sampleCgroups(nowMs, pids);
    this.prevMs = nowMs;
    if (!ok) return null;
    return { window_ms: windowMs, devices, memory, cgroups };
  }

  // ---- devices -------------------------------------------------------------

  private sampleDevices(windowMs: number | null): DeviceEvidence[] {
    const text = this.read(`${this.proc}/diskstats`);
    const now = new Map<string, DiskCounters>();
    for (const d of text === null ? [] : parseDiskstats(text)) if (this.isWholeDevice(d.name)) now.set(d.name, d);
    const out: DeviceEvidence[] = [];
    if (windowMs !== null) {
      for (const [name, d] of now) {
        const p = this.prevDisks.get(name);
        const e = p ? deviceEvidence(p, d, windowMs) : null;
        if (e) out.push(e);
      }
    }
    this.prevDisks = now;
    return out.sort((a, b) => b.util - a.util || b.reads_s + b.writes_s - (a.reads_s + a.writes_s));
  }

  private isWholeDevice(name: string): boolean {
    const known = this.wholeDevice.get(name);
    if (known !== undefined) return known;
    this.refreshDevices();
    // Not in sysfs (not mounted, or the device just went): count it, we cannot tell.
    if (!this.wholeDevice.has(name)) this.wholeDevice.set(name, true);
    return this.wholeDevice.get(name)!;
  }

  /** Rebuilt from scratch so that names of removed devices do not pile up. */
  private refreshDevices(): void {
    const dir = `${this.sys}/class/block`;
    this.wholeDevice = new Map();
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    // The kernel names block devices with '/' as '!' in sysfs (cciss!c0d0) but '/' in diskstats.
    for (const n of names) this.wholeDevice.set(n.replaceAll('!', '/'), !existsSync(`${dir}/${n}/partition`));
  }

  // ---- memory ----------------------------------------------------------------

  private sampleMemory(windowMs: number | null): MemoryEvidence | null {
    const text = this.read(`${this.proc}/vmstat`);
    const now = text === null ? null : parseVmstat(text);
    const prev = this.prevVm;
    this.prevVm = now;
    if (windowMs === null || now === null || prev === null) return null;
    const rate = (k: keyof VmCounters): number => (Math.max(0, now[k] - prev[k]) * 1000) / windowMs;
    return {
      direct_reclaim_s: rate('allocstall'),
      pgscan_direct_s: rate('pgscanDirect'),
      compact_stall_s: rate('compactStall'),
      major_faults_s: rate('pgmajfault'),
      swap_in_s: rate('pswpin'),
      refaults_s: rate('workingsetRefault'),
    };
  }

  // ---- cgroups ---------------------------------------------------------------

  private sampleCgroups(nowMs: number, pids: readonly number[]): CgroupLimitEvidence[] {
    // Each cgroup once, with the load-making pids found in it: what ties a limit to the tasks it holds back.
    const seen = new Map<string, CgroupLimitEvidence[]>();
    const out: CgroupLimitEvidence[] = [];
    for (const pid of pids.slice(0, MAX_PIDS)) {
      for (const t of this.targetsOf(pid, nowMs)) {
        const key = `${t.reader.kind}\0${t.dir}`;
        let found = seen.get(key);
        if (!found) {
          found = this.evaluateCgroup(key, t, nowMs).map((e) => ({ ...e, pids: [] }));
          seen.set(key, found);
          out.push(...found);
        }
        for (const e of found) e.pids!.push(pid);
      }
    }
    // Stable: within "at the limit" and "not", the order of the pids (most threads first) stays.
    return out.sort((a, b) => Number(b.at_limit) - Number(a.at_limit));
  }

  /** The memory, io and cpu cgroup directories of a pid; none when it vanished. */
  private targetsOf(pid: number, nowMs: number): CgroupTarget[] {
    const text = this.read(`${this.proc}/${pid}/cgroup`);
    if (text === null) return [];
    const lines = parseCgroupPaths(text);
    const out: CgroupTarget[] = [];
    for (const k of KINDS) {
      const v1 = lines.find((l) => l.hierarchyId > 0 && l.controllers.includes(k.controller));
      const v2 = lines.find((l) => l.hierarchyId === 0);
      const m = v1 ?? v2;
      if (!m) continue;
      const version = v1 ? 1 : 2;
      const dir = this.dirOf(version, v1 ? k.controller : null, m.path, nowMs);
      if (dir !== null) out.push({ reader: v1 ? k.v1 : k.v2, hierarchy: v1 ? 'v1' : 'v2', path: m.path, dir });
    }
    return out;
  }

  /** Where a cgroup path of a hierarchy is in the file system (via mountinfo); null if not mounted. */
  private dirOf(version: 1 | 2, controller: string | null, path: string, nowMs: number): string | null {
    let found = findDir(this.getMounts(nowMs, false), version, controller, path);
    if (found === null && nowMs - this.mountsAt >= MOUNTS_TTL_MS) found = findDir(this.getMounts(nowMs, true), version, controller, path);
    return found === null ? null : this.rebase(found);
  }

  private getMounts(nowMs: number, refresh: boolean): CgroupMount[] {
    if (this.mounts === null || refresh) {
      const text = this.read(`${this.proc}/self/mountinfo`);
      this.mounts = text === null ? [] : parseCgroupMounts(text);
      this.mountsAt = nowMs;
    }
    return this.mounts;
  }

  /** Mount points are absolute on this host; a fake tree (tests) relocates /sys/fs/cgroup and /sys. */
  private rebase(dir: string): string {
    if (dir === DEFAULT_CGROUP_ROOT || dir.startsWith(`${DEFAULT_CGROUP_ROOT}/`))
      return this.cgroupRoot + dir.slice(DEFAULT_CGROUP_ROOT.length);
    if (dir.startsWith('/sys/')) return this.sys + dir.slice(4);
    return dir;
  }

  private evaluateCgroup(key: string, t: CgroupTarget, nowMs: number): CgroupLimitEvidence[] {
    const e = this.touch(key);
    const read = (dir: string, file: string): string | null => this.read(`${dir}/${file}`);
    if (nowMs - e.limitsAt >= LIMITS_TTL_MS || nowMs < e.limitsAt) {
      e.limits = t.reader.readLimits(read, t.dir);
      e.limitsAt = nowMs;
    }
    if (e.limits === null) {
      e.counters = null; // unlimited: no counters needed, and no stale baseline when a limit is set later
      return [];
    }
    const now = t.reader.readCounters(read, t.dir, e.limits);
    const fresh = e.counters !== null && nowMs > e.countersAt && nowMs - e.countersAt <= STALE_MS;
    const prev = fresh ? e.counters : null;
    const ms = fresh ? nowMs - e.countersAt : null;
    e.counters = now;
    e.countersAt = nowMs;
    if (now === null) return [];
    return t.reader.evaluate(t.path, e.limits, { prev, now, ms });
  }

  /** The cache entry of a cgroup, made the most recently used; the least recently used goes past MAX_CGROUPS. */
  private touch(key: string): CgroupEntry {
    const e = this.cgroups.get(key) ?? { limits: null, limitsAt: -Infinity, counters: null, countersAt: -Infinity };
    this.cgroups.delete(key);
    this.cgroups.set(key, e);
    if (this.cgroups.size > MAX_CGROUPS) this.cgroups.delete(this.cgroups.keys().next().value!);
    return e;
  }

  private read(path: string): string | null {
    try {
      return this.reader.readText(path);
    } catch {
      // ENOENT/ESRCH (gone), EACCES, EIO, EOPNOTSUPP (psi=0): that file is simply not evidence.
      return null;
    }
  }
}

/** One device's figures over the window; null when it did nothing or a counter went backwards. */
export function deviceEvidence(p: DiskCounters, d: DiskCounters, windowMs: number): DeviceEvidence | null {
  if (p.major !== d.major || p.minor !== d.minor) return null;
  for (const f of DISK_COUNTER_FIELDS) if (d[f] < p[f]) return null;
  const reads = d.reads - p.reads;
  const writes = d.writes - p.writes;
  const done = reads + writes + (d.discards - p.discards) + (d.flushes - p.flushes);
  const ticks = d.ioTicks - p.ioTicks;
  if (done === 0 && d.inFlight === 0 && ticks === 0) return null;
  const waited =
    d.msReading - p.msReading + (d.msWriting - p.msWriting) + (d.msDiscarding - p.msDiscarding) + (d.msFlushing - p.msFlushing);
  const perS = (n: number): number => (n * 1000) / windowMs;
  return {
    name: d.name,
    dev: `${d.major}:${d.minor}`,
    util: Math.min(1, ticks / windowMs),
    reads_s: perS(reads),
    writes_s: perS(writes),
    read_kib_s: perS(((d.sectorsRead - p.sectorsRead) * SECTOR_BYTES) / 1024),
    write_kib_s: perS(((d.sectorsWritten - p.sectorsWritten) * SECTOR_BYTES) / 1024),
    await_ms: done > 0 ? waited / done : null,
    in_flight: d.inFlight,
    queue: (d.weightedMs - p.weightedMs) / windowMs,
  };
}

/**
 * The directory of `path` in a hierarchy: a mount of that hierarchy whose
 * root contains the path (a bind mount of a sub-tree shows only that sub-tree),
 * the longest such root first. Paths from /proc/PID/cgroup are relative to
 * our cgroup namespace, as mountinfo roots are.
 */
export function findDir(mounts: readonly CgroupMount[], version: 1 | 2, controller: string | null, path: string): string | null {
  let best: CgroupMount | null = null;
  for (const m of mounts) {
    if (m.version !== version || (controller !== null && !m.controllers.includes(controller))) continue;
    if (!within(path, m.root)) continue;
    if (!best || m.root.length > best.root.length) best = m;
  }
  if (!best) return null;
  const rest = best.root === '/' ? path : path.slice(best.root.length);
  return (best.mountPoint + (rest === '/' ? '' : rest)).replace(/\/+$/, '') || '/';
}

function within(path: string, root: string): boolean {
  return root === '/' || path === root || path.startsWith(`${root}/`);
}

function trimSlash(p: string): string {
  return p.replace(/\/+$/, '') || '/';
}
