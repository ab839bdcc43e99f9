/**
 * What the scenarios need to know about this machine, read the way the
 * kernel writes it: cgroup mounts (v1 controllers, the v2 hierarchy and its
 * controllers), the block device under /var/tmp, and a process's cgroup
 * paths. The parsers are pure (test/scenario/system.test.ts runs them on
 * real samples); the readers around them are thin.
 */

import { existsSync, readdirSync, readFileSync, realpathSync, statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CgroupMount {
  /** Where it is mounted here. */
  dir: string;
  /** The hierarchy path mounted there (mountinfo's root field; "/" outside containers). */
  root: string;
  hierarchy: 'v1' | 'v2';
  /** v1: the controllers bound to it (super options); v2: [] (see v2Controllers). */
  controllers: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Cgroup mounts from /proc/self/mountinfo text:
 * `id parent maj:min root mountpoint opts [optional...] - fstype source superopts`.
 */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 6 || f.length < sep + 4) continue;
    const fstype = f[sep + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = unescapeOctal(f[3]!);
    const dir = unescapeOctal(f[4]!);
    if (fstype === 'cgroup2') {
      out.push({ dir, root, hierarchy: 'v2', controllers: [] });
      continue;
    }
    const known = new Set([
      'memory',
      'blkio',
      'io',
      'cpu',
      'cpuacct',
      'cpuset',
      'pids',
      'devices',
      'freezer',
      'net_cls',
      'net_prio',
      'perf_event',
      'hugetlb',
      'rdma',
      'misc',
    ]);
    const controllers = f[sep + 3]!.split(',').filter((o) => known.has(o));
    out.push({ dir, root, hierarchy: 'v1', controllers });
  }
  return out;
}

/** The line of /proc/PID/cgroup for a v1 controller (`7:memory:/x`), or the v2 line (`0::/x`). */
export function cgroupPathOf(procCgroup: string, controller: string | null): string | null {
  for (const line of procCgroup.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const list = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    if (controller === null ? list === '' && line.slice(0, a) === '0' : list.split(',').includes(controller)) return path;
  }
  return null;
}

/** `major:minor` of a 64-bit dev_t, as glibc's gnu_dev_major/minor split it. */
export function majorMinor(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** DEVNAME= of a /sys/dev/block/M:m/uevent file. */
export function ueventDevname(uevent: string): string | null {
  const m = /^DEVNAME=(.+)$/m.exec(uevent);
  return m ? m[1]! : null;
}

export interface BlockDevice {
  /** The whole disk's kernel name (`vda`), as /proc/diskstats and the evidence name it. */
  name: string;
  /** The whole disk's `major:minor`: what blkio.throttle.* and io.max take. */
  dev: string;
  /** The file system's own device (a partition, or the disk itself). */
  fsDev: string;
}

const TMPFS_MAGIC = 0x01021994;

/**
 * The block device holding `dir`, from its st_dev: /sys/dev/block/M:m, or
 * its parent disk when it is a partition. Throws with the reason when the
 * directory is not on a block device (tmpfs, btrfs' anonymous devices, …).
 */
export function blockDeviceOf(dir: string): BlockDevice {
  if (statfsSync(dir).type === TMPFS_MAGIC) throw new Error(`${dir} is on tmpfs, not on a block device`);
  const fsDev = majorMinor(statSync(dir, { bigint: true }).dev);
  const sys = `/sys/dev/block/${fsDev}`;
  if (!existsSync(sys)) throw new Error(`${dir} is on device ${fsDev}, which is not a block device (${sys} missing)`);
  const disk = existsSync(join(sys, 'partition')) ? dirname(realpathSync(sys)) : realpathSync(sys);
  const name = ueventDevname(readFileSync(join(disk, 'uevent'), 'utf8'));
  if (!name) throw new Error(`no DEVNAME in ${disk}/uevent`);
  return { name, dev: readFileSync(join(disk, 'dev'), 'utf8').trim(), fsDev };
}

export function cgroupMounts(): CgroupMount[] {
  return parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** The v1 hierarchy a controller is bound to, or null. */
export function v1Mount(controller: string, mounts = cgroupMounts()): CgroupMount | null {
  return mounts.find((m) => m.hierarchy === 'v1' && m.controllers.includes(controller)) ?? null;
}

/** The v2 hierarchy when `controller` is enabled for its children, else why not. */
export function v2MountFor(controller: string, mounts = cgroupMounts()): CgroupMount | string {
  const m = mounts.find((x) => x.hierarchy === 'v2');
  if (!m) return 'no cgroup v2 hierarchy is mounted';
  const read = (f: string): string[] => {
    try {
      return readFileSync(join(m.dir, f), 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return [];
    }
  };
  const have = read('cgroup.controllers');
  if (!have.includes(controller)) {
    return (
      `the cgroup v2 hierarchy at ${m.dir} has no ${controller} controller (cgroup.controllers: "${have.join(' ')}"; it is ` +
      `bound to a v1 hierarchy here)`
    );
  }
  // Enabling it ourselves would change the machine's cgroup setup for everyone else.
  if (!read('cgroup.subtree_control').includes(controller)) return `${controller} is not enabled in ${m.dir}/cgroup.subtree_control`;
  return m;
}

export function load1(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** State letter of a /proc/PID/task/TID/stat line: the byte after the last ')' and a space. */
export function statState(stat: string): string {
  return stat.charAt(stat.lastIndexOf(')') + 2);
}

/**
 * R and D threads on the machine now, leaving out `exclude` (pids): the
 * load others make while a scenario runs (this suite shares its machine).
 */
export function countRD(exclude: ReadonlySet<number>): { r: number; d: number } {
  let r = 0;
  let d = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || exclude.has(Number(p))) continue;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue; // gone
    }
    for (const t of tids) {
      try {
        const s = statState(readFileSync(`/proc/${p}/task/${t}/stat`, 'latin1'));
        if (s === 'R') r++;
        else if (s === 'D') d++;
      } catch {
        /* gone mid-read */
      }
    }
  }
  return { r, d };
}
