/**
 * The limit kinds of the cgroup evidence (memory, io, cpu; v1 and v2): which
 * files hold a cgroup's limits and counters, and what a window of them says.
 * Each kind reads its limits (null: no limit of that kind, so the cgroup is
 * not reported) and its counters (null: unreadable, so not reported), and
 * turns two readings into evidence lines. The sampler (evidence.ts) decides
 * which cgroups to look at and keeps the previous readings.
 */

import type { CgroupLimitEvidence, LimitKind } from '../model/evidence.ts';
import {
  type CpuQuota,
  type IoCounters,
  type IoLimits,
  parseCpuMax,
  parseFlatKeyed,
  parseInteger,
  parseIoMax,
  parseIoStat,
  parseV1CpuQuota,
  parseV1MemoryLimit,
  parseV2Limit,
  v1IoCounters,
  v1IoLimits,
} from '../procfs/cgroup-limits.ts';
import { parsePressure } from '../procfs/pressure.ts';

/** Reads one file of a cgroup directory; null when it cannot be read. */
export type CgroupFileReader = (dir: string, file: string) => string | null;

export type Hierarchy = 'v1' | 'v2';

/** Two readings of a cgroup's counters and the time between them (null: first reading). */
export interface Window<C> {
  prev: C | null;
  now: C;
  ms: number | null;
}

export interface LimitKindReader<L, C> {
  readonly kind: LimitKind;
  readLimits(read: CgroupFileReader, dir: string): L | null;
  /** `limits` (not null) lets a kind skip the counter files no set limit needs. */
  readCounters(read: CgroupFileReader, dir: string, limits: L): C | null;
  evaluate(path: string, limits: L, w: Window<C>): CgroupLimitEvidence[];
}

/** Usage at or above this share of the limit is "at the limit" even without a counted hit. */
const MEMORY_NEAR_LIMIT = 0.95;
/** An I/O rate at or above this share of its limit is "at the limit" (throttling rounds by slices). */
const IO_NEAR_LIMIT = 0.8;

function perSecond(delta: number, ms: number): number {
  return ms > 0 ? (delta * 1000) / ms : 0;
}

/** Counter delta, or null when it went backwards (cgroup recreated under the same path). */
function delta(now: number, prev: number): number | null {
  return now >= prev ? now - prev : null;
}

function line(
  path: string,
  limit: LimitKind,
  hierarchy: Hierarchy,
  f: Omit<CgroupLimitEvidence, 'path' | 'limit' | 'hierarchy'>,
): CgroupLimitEvidence {
  return { path, limit, hierarchy, ...f };
}

// ---- memory ---------------------------------------------------------------

interface MemoryLimits {
  /** The lower of the limits set (v1: limit_in_bytes; v2: min(high, max)). */
  bytes: number;
  /** Which file it came from, for the detail (v2 only). */
  name: string | null;
}

interface MemoryCounters {
  usage: number;
  /** v1 failcnt; v2 memory.events high + max. */
  hits: number;
  ooms: number;
  fullAvg10: number | null;
}

function memoryEvaluate(h: Hierarchy) {
  return (path: string, limits: MemoryLimits, w: Window<MemoryCounters>): CgroupLimitEvidence[] => {
    // Forced charges (OOM kill in progress, kernel allocations) can overshoot the limit a little.
    const ratio = Math.min(1, w.now.usage / limits.bytes);
    const hits = w.prev && w.ms ? delta(w.now.hits, w.prev.hits) : null;
    const rate = hits === null || !w.ms ? null : perSecond(hits, w.ms);
    const ooms = w.prev ? (delta(w.now.ooms, w.prev.ooms) ?? 0) : 0;
    const at = (hits ?? 0) > 0 || ratio >= MEMORY_NEAR_LIMIT;
    const parts = [`memory: ${fmtBytes(w.now.usage)} used of a ${fmtBytes(limits.bytes)} ${limits.name ? `${limits.name} ` : ''}limit`];
    if (rate !== null) parts.push(`${fmtCount(rate)} limit hits/s`);
    if (ooms > 0) parts.push(`${ooms} OOM kill${ooms === 1 ? '' : 's'}`);
    if (w.now.fullAvg10 !== null) parts.push(`memory pressure full ${w.now.fullAvg10.toFixed(1)}%`);
    return [line(path, 'memory', h, { detail: parts.join(', '), at_limit: at, ratio, rate, dev: null })];
  };
}

export const memoryV1: LimitKindReader<MemoryLimits, MemoryCounters> = {
  kind: 'memory',
  readLimits(read, dir) {
    const text = read(dir, 'memory.limit_in_bytes');
    const bytes = text === null ? null : parseV1MemoryLimit(text);
    return bytes === null || bytes === 0 ? null : { bytes, name: null };
  },
  readCounters(read, dir) {
    const usage = num(read(dir, 'memory.usage_in_bytes'));
    const hits = num(read(dir, 'memory.failcnt'));
    if (usage === null || hits === null) return null;
    // v1 has no OOM-kill counter per cgroup in a file this cheap (memory.oom_control has oom_kill since 4.13).
    return { usage, hits, ooms: 0, fullAvg10: null };
  },
  evaluate: memoryEvaluate('v1'),
};

export const memoryV2: LimitKindReader<MemoryLimits, MemoryCounters> = {
  kind: 'memory',
  readLimits(read, dir) {
    const max = orNull(read(dir, 'memory.max'), parseV2Limit);
    const high = orNull(read(dir, 'memory.high'), parseV2Limit);
    if (max === null && high === null) return null;
    if (high !== null && (max === null || high < max)) return high === 0 ? null : { bytes: high, name: 'memory.high' };
    return max === 0 ? null : { bytes: max!, name: 'memory.max' };
  },
  readCounters(read, dir) {
    const usage = num(read(dir, 'memory.current'));
    const eventsText = read(dir, 'memory.events');
    if (usage === null || eventsText === null) return null;
    const ev = parseFlatKeyed(eventsText);
    return {
      usage,
      hits: (ev.get('high') ?? 0) + (ev.get('max') ?? 0),
      ooms: ev.get('oom_kill') ?? 0,
      fullAvg10: fullAvg10(read(dir, 'memory.pressure')),
    };
  },
  evaluate: memoryEvaluate('v2'),
};

// ---- io -------------------------------------------------------------------

interface IoReading {
  devs: Map<string, IoCounters>;
  fullAvg10: number | null;
}

const IO_AXES = [
  { limit: 'rbps', counter: 'rbytes', what: 'reads', bytes: true },
  { limit: 'wbps', counter: 'wbytes', what: 'writes', bytes: true },
  { limit: 'riops', counter: 'rios', what: 'reads', bytes: false },
  { limit: 'wiops', counter: 'wios', what: 'writes', bytes: false },
] as const;

function ioEvaluate(h: Hierarchy) {
  return (path: string, limits: Map<string, IoLimits>, w: Window<IoReading>): CgroupLimitEvidence[] => {
    const out: CgroupLimitEvidence[] = [];
    for (const [dev, lim] of limits) out.push(ioDevice(path, h, dev, lim, w));
    return out;
  };
}

/** The axis (read/write × bytes/ios) closest to its limit decides the device's ratio. */
function ioDevice(path: string, h: Hierarchy, dev: string, lim: IoLimits, w: Window<IoReading>): CgroupLimitEvidence {
  const now = w.now.devs.get(dev) ?? { rbytes: 0, wbytes: 0, rios: 0, wios: 0 };
  const prev = w.prev ? (w.prev.devs.get(dev) ?? { rbytes: 0, wbytes: 0, rios: 0, wios: 0 }) : null;
  let best: { axis: (typeof IO_AXES)[number]; rate: number; ratio: number } | null = null;
  let firstSet: (typeof IO_AXES)[number] | null = null;
  for (const axis of IO_AXES) {
    const limit = lim[axis.limit];
    if (limit === null) continue;
    firstSet ??= axis;
    const d = prev && w.ms ? delta(now[axis.counter], prev[axis.counter]) : null;
    if (d === null) continue;
    const rate = perSecond(d, w.ms!);
    if (!best || rate / limit > best.ratio) best = { axis, rate, ratio: rate / limit };
  }
  const ratio = best ? Math.min(1, best.ratio) : null;
  const at = ratio !== null && ratio >= IO_NEAR_LIMIT;
  const shown = best?.axis ?? firstSet!;
  const limit = lim[shown.limit]!;
  // The rate in the limit's unit, so that "1022.98 KiB/s of 1.00 MiB/s" reads "1.00 MiB/s of 1.00 MiB/s".
  const fmt = (v: number): string => (shown.bytes ? fmtRate(v, limit) : `${fmtCount(v)} IO/s`);
  let detail = best
    ? `io: ${shown.what} ${fmt(best.rate)} on ${dev} ${at ? 'at its' : `at ${pct(best.ratio)} of its`} limit ` +
      `of ${fmt(limit)}${at ? ` (${pct(best.ratio)})` : ''}`
    : `io: ${shown.what} limited to ${fmt(limit)} on ${dev} (no rate yet)`;
  if (w.now.fullAvg10 !== null) detail += `, io pressure full ${w.now.fullAvg10.toFixed(1)}%`;
  return line(path, 'io', h, { detail, at_limit: at, ratio, rate: 0, dev });
}

export const ioV1: LimitKindReader<Map<string, IoLimits>, IoReading> = {
  kind: 'io',
  readLimits(read, dir) {
    const f = ['read_bps_device', 'write_bps_device', 'read_iops_device', 'write_iops_device'].map((n) => read(dir, `blkio.throttle.${n}`));
    if (f.some((t) => t === null)) return null;
    const m = v1IoLimits(f[0]!, f[1]!, f[2]!, f[3]!);
    return m.size > 0 ? m : null;
  },
  readCounters(read, dir, limits) {
    // Each file costs an open on cgroupfs (~10 us): read only the one the set limits need.
    const lim = [...limits.values()];
    const needBytes = lim.some((l) => l.rbps !== null || l.wbps !== null);
    const needIos = lim.some((l) => l.riops !== null || l.wiops !== null);
    const bytes = needBytes ? read(dir, 'blkio.throttle.io_service_bytes') : '';
    const ios = needIos ? read(dir, 'blkio.throttle.io_serviced') : '';
    if (bytes === null || ios === null) return null;
    return { devs: v1IoCounters(bytes, ios), fullAvg10: null };
  },
  evaluate: ioEvaluate('v1'),
};

export const ioV2: LimitKindReader<Map<string, IoLimits>, IoReading> = {
  kind: 'io',
  readLimits(read, dir) {
    const m = orNull(read(dir, 'io.max'), parseIoMax);
    return m && m.size > 0 ? m : null;
  },
  readCounters(read, dir) {
    const stat = read(dir, 'io.stat');
    if (stat === null) return null;
    return { devs: parseIoStat(stat), fullAvg10: fullAvg10(read(dir, 'io.pressure')) };
  },
  evaluate: ioEvaluate('v2'),
};

// ---- cpu ------------------------------------------------------------------

interface CpuCounters {
  periods: number;
  throttled: number;
  throttledNs: number;
}

function cpuEvaluate(h: Hierarchy) {
  return (path: string, q: CpuQuota, w: Window<CpuCounters>): CgroupLimitEvidence[] => {
    const quota = `quota ${fmtMs(q.quotaUs)} per ${fmtMs(q.periodUs)}`;
    const p = w.prev && w.ms ? delta(w.now.periods, w.prev.periods) : null;
    const t = w.prev ? delta(w.now.throttled, w.prev.throttled) : null;
    const ns = w.prev ? delta(w.now.throttledNs, w.prev.throttledNs) : null;
    if (p === null || t === null || ns === null) {
      return [line(path, 'cpu', h, { detail: `cpu: ${quota} (no rate yet)`, at_limit: false, ratio: null, rate: null, dev: null })];
    }
    const ratio = p > 0 ? Math.min(1, t / p) : 0;
    const rate = perSecond(ns / 1e9, w.ms!);
    const detail = `cpu: throttled in ${pct(ratio)} of periods, ${rate.toFixed(2)} s/s (${quota})`;
    return [line(path, 'cpu', h, { detail, at_limit: t > 0, ratio, rate, dev: null })];
  };
}

export const cpuV1: LimitKindReader<CpuQuota, CpuCounters> = {
  kind: 'cpu',
  readLimits(read, dir) {
    const quota = read(dir, 'cpu.cfs_quota_us');
    const period = read(dir, 'cpu.cfs_period_us');
    return quota === null || period === null ? null : parseV1CpuQuota(quota, period);
  },
  readCounters(read, dir) {
    return cpuCounters(read(dir, 'cpu.stat'), 'throttled_time', 1);
  },
  evaluate: cpuEvaluate('v1'),
};

export const cpuV2: LimitKindReader<CpuQuota, CpuCounters> = {
  kind: 'cpu',
  readLimits(read, dir) {
    return orNull(read(dir, 'cpu.max'), parseCpuMax);
  },
  readCounters(read, dir) {
    return cpuCounters(read(dir, 'cpu.stat'), 'throttled_usec', 1000);
  },
  evaluate: cpuEvaluate('v2'),
};

function cpuCounters(text: string | null, timeKey: string, toNs: number): CpuCounters | null {
  if (text === null) return null;
  const s = parseFlatKeyed(text);
  const periods = s.get('nr_periods');
  const throttled = s.get('nr_throttled');
  const time = s.get(timeKey);
  if (periods === undefined || throttled === undefined || time === undefined) return null;
  return { periods, throttled, throttledNs: time * toNs };
}

// ---- helpers --------------------------------------------------------------

function num(text: string | null): number | null {
  return text === null ? null : parseInteger(text);
}

function orNull<T>(text: string | null, parse: (t: string) => T | null): T | null {
  return text === null ? null : parse(text);
}

/** `full avg10` of a cgroup's PSI file; null without PSI (psi=0, v1). */
function fullAvg10(text: string | null): number | null {
  return text === null ? null : (parsePressure(text).full?.avg10 ?? null);
}

export function fmtBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  if (b >= 2 ** 10) return `${(b / 2 ** 10).toFixed(1)} KiB`;
  return `${b} B`;
}

/** Bytes per second in the unit `scale` (a limit) calls for: GiB/s, MiB/s or KiB/s. */
function fmtRate(bps: number, scale: number): string {
  if (scale >= 2 ** 30) return `${(bps / 2 ** 30).toFixed(2)} GiB/s`;
  if (scale >= 2 ** 20) return `${(bps / 2 ** 20).toFixed(2)} MiB/s`;
  return `${(bps / 2 ** 10).toFixed(2)} KiB/s`;
}

function fmtCount(v: number): string {
  return v >= 10 ? String(Math.round(v)) : v.toFixed(1);
}

function fmtMs(us: number): string {
  return `${Number((us / 1000).toFixed(3))} ms`;
}

function pct(r: number): string {
  return `${Math.round(r * 100)}%`;
}
