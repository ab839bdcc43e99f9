/**
 * Pure parsers of the cgroup files that say whether a cgroup is held back by
 * a limit of its own, v1 (Documentation/admin-guide/cgroup-v1/{memory,blkio-
 * controller}.rst, scheduler/sched-bwc.rst) and v2 (admin-guide/cgroup-v2.rst),
 * and of /proc/self/mountinfo to find where each hierarchy is mounted.
 * Reading is the caller's business (src/collect/evidence.ts).
 */

/** A cgroup hierarchy mounted here. */
export interface CgroupMount {
  version: 1 | 2;
  /** The cgroup the mount shows at its mount point (`/` unless bind-mounted from inside). */
  root: string;
  mountPoint: string;
  /** v1: the controllers and `name=` of the hierarchy (from the super options); v2: empty. */
  controllers: string[];
}

/** Mount options that are not controllers (kernel/cgroup/cgroup-v1.c cgroup1_parse_param). */
const V1_NON_CONTROLLERS = new Set(['rw', 'ro', 'none', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'xattr', 'favordynmods']);

/**
 * Cgroup mounts from /proc/PID/mountinfo: "id parent maj:min root mountpoint
 * opts [optional…] - fstype source superopts". root and mountpoint escape
 * space, tab, newline and backslash as octal (\040).
 */
export function parseCgroupMounts(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fstype = right[0];
    if ((fstype !== 'cgroup' && fstype !== 'cgroup2') || left.length < 5) continue;
    const version = fstype === 'cgroup2' ? 2 : 1;
    const controllers =
      version === 2
        ? []
        : (right[2] ?? '').split(',').filter((o) => o !== '' && !V1_NON_CONTROLLERS.has(o) && !o.startsWith('release_agent='));
    out.push({ version, root: unescapeOctal(left[3]!), mountPoint: unescapeOctal(left[4]!), controllers });
  }
  return out;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** A plain integer file (`memory.usage_in_bytes`, `cpu.cfs_quota_us`: may be -1); null if not one. */
export function parseInteger(text: string): number | null {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return null;
  return Number(t);
}

/**
 * v1 memory.limit_in_bytes: unlimited is PAGE_COUNTER_MAX pages in bytes
 * (9223372036854771712 with 4 KiB pages, a little less with larger pages);
 * anything from 2^62 bytes up is no limit any machine has.
 */
export const V1_UNLIMITED_BYTES = 2 ** 62;

export function parseV1MemoryLimit(text: string): number | null {
  const v = parseInteger(text);
  return v === null || v < 0 || v >= V1_UNLIMITED_BYTES ? null : v;
}

/** v2 memory.max / memory.high: "max" is no limit; null when none or unreadable text. */
export function parseV2Limit(text: string): number | null {
  const t = text.trim();
  if (t === 'max') return null;
  const v = parseInteger(t);
  return v === null || v < 0 ? null : v;
}

/** Flat keyed files, "key value" per line: cpu.stat, memory.events. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v, extra] = line.trim().split(/\s+/);
    if (k === undefined || k === '' || v === undefined || extra !== undefined) continue;
    const n = Number(v);
    if (Number.isFinite(n)) out.set(k, n);
  }
  return out;
}

/** v1 blkio.throttle.{read,write}_{bps,iops}_device: "MAJ:MIN value" per limited device. */
export function parseDeviceValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [dev, v, extra] = line.trim().split(/\s+/);
    if (dev === undefined || !isDev(dev) || v === undefined || extra !== undefined) continue;
    const n = Number(v);
    if (Number.isInteger(n) && n >= 0) out.set(dev, n);
  }
  return out;
}

function isDev(s: string): boolean {
  return /^\d+:\d+$/.test(s);
}

/** Per-device I/O counters: bytes and requests completed, reads and writes. */
export interface IoCounters {
  rbytes: number;
  wbytes: number;
  rios: number;
  wios: number;
}

/** Per-device I/O limits, null where none is set. */
export interface IoLimits {
  rbps: number | null;
  wbps: number | null;
  riops: number | null;
  wiops: number | null;
}

/**
 * v1 blkio.throttle.io_service_bytes / io_serviced: "MAJ:MIN Read N",
 * "… Write N", Sync, Async, Discard, Total per device, then "Total N".
 * Returns read and write per device.
 */
export function parseBlkioRw(text: string): Map<string, { read: number; write: number }> {
  const out = new Map<string, { read: number; write: number }>();
  for (const line of text.split('\n')) {
    const [dev, op, v] = line.trim().split(/\s+/);
    if (dev === undefined || !isDev(dev) || (op !== 'Read' && op !== 'Write')) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) continue;
    const e = out.get(dev) ?? { read: 0, write: 0 };
    if (op === 'Read') e.read = n;
    else e.write = n;
    out.set(dev, e);
  }
  return out;
}

/** v1 counters of one cgroup from its io_service_bytes and io_serviced texts. */
export function v1IoCounters(serviceBytes: string, serviced: string): Map<string, IoCounters> {
  const bytes = parseBlkioRw(serviceBytes);
  const ios = parseBlkioRw(serviced);
  const out = new Map<string, IoCounters>();
  for (const dev of new Set([...bytes.keys(), ...ios.keys()])) {
    const b = bytes.get(dev);
    const i = ios.get(dev);
    out.set(dev, { rbytes: b?.read ?? 0, wbytes: b?.write ?? 0, rios: i?.read ?? 0, wios: i?.write ?? 0 });
  }
  return out;
}

/** v1 limits from the four throttle files (texts in the order rbps, wbps, riops, wiops). */
export function v1IoLimits(rbps: string, wbps: string, riops: string, wiops: string): Map<string, IoLimits> {
  const files = [parseDeviceValues(rbps), parseDeviceValues(wbps), parseDeviceValues(riops), parseDeviceValues(wiops)] as const;
  const out = new Map<string, IoLimits>();
  for (const dev of new Set(files.flatMap((m) => [...m.keys()]))) {
    // 0 is how v1 clears a limit (the line disappears, but be safe).
    const get = (m: Map<string, number>): number | null => (m.get(dev) ? m.get(dev)! : null);
    const l = { rbps: get(files[0]), wbps: get(files[1]), riops: get(files[2]), wiops: get(files[3]) };
    if (l.rbps !== null || l.wbps !== null || l.riops !== null || l.wiops !== null) out.set(dev, l);
  }
  return out;
}

/** "MAJ:MIN key=value key=value…" lines (io.max, io.stat): device -> key -> raw value. */
function parseNestedKeyed(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const dev = f[0];
    if (dev === undefined || !isDev(dev)) continue;
    const kv = new Map<string, string>();
    for (const p of f.slice(1)) {
      const eq = p.indexOf('=');
      if (eq > 0) kv.set(p.slice(0, eq), p.slice(eq + 1));
    }
    out.set(dev, kv);
  }
  return out;
}

/** v2 io.max: "8:16 rbps=2097152 wbps=max riops=max wiops=120"; devices with no limit left out. */
export function parseIoMax(text: string): Map<string, IoLimits> {
  const out = new Map<string, IoLimits>();
  for (const [dev, kv] of parseNestedKeyed(text)) {
    const get = (k: string): number | null => {
      const v = kv.get(k);
      const n = v === undefined || v === 'max' ? NaN : Number(v);
      return Number.isInteger(n) && n > 0 ? n : null;
    };
    const l = { rbps: get('rbps'), wbps: get('wbps'), riops: get('riops'), wiops: get('wiops') };
    if (l.rbps !== null || l.wbps !== null || l.riops !== null || l.wiops !== null) out.set(dev, l);
  }
  return out;
}

/** v2 io.stat: "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0". */
export function parseIoStat(text: string): Map<string, IoCounters> {
  const out = new Map<string, IoCounters>();
  for (const [dev, kv] of parseNestedKeyed(text)) {
    const get = (k: string): number => {
      const n = Number(kv.get(k) ?? 0);
      return Number.isFinite(n) && n >= 0 ? n : 0;
    };
    out.set(dev, { rbytes: get('rbytes'), wbytes: get('wbytes'), rios: get('rios'), wios: get('wios') });
  }
  return out;
}

/** A CFS bandwidth limit: quota per period, microseconds. */
export interface CpuQuota {
  quotaUs: number;
  periodUs: number;
}

/** v2 cpu.max: "$MAX $PERIOD", "max 100000" = no limit (null). */
export function parseCpuMax(text: string): CpuQuota | null {
  const [q, p] = text.trim().split(/\s+/);
  if (q === undefined || q === 'max') return null;
  const quotaUs = Number(q);
  const periodUs = Number(p);
  if (!Number.isInteger(quotaUs) || quotaUs <= 0 || !Number.isInteger(periodUs) || periodUs <= 0) return null;
  return { quotaUs, periodUs };
}

/** v1 cpu.cfs_quota_us (-1 = no limit) and cpu.cfs_period_us. */
export function parseV1CpuQuota(quotaText: string, periodText: string): CpuQuota | null {
  const quotaUs = parseInteger(quotaText);
  const periodUs = parseInteger(periodText);
  if (quotaUs === null || quotaUs <= 0 || periodUs === null || periodUs <= 0) return null;
  return { quotaUs, periodUs };
}
