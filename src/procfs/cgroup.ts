/**
 * Parser for /proc/PID/cgroup. Lines are "hierarchy-id:controllers:path".
 * cgroup v2 has one line "0::/path"; hybrid (v1 + unified) setups have many.
 * We want the path that names the workload, so the most telling non-root
 * path wins, in this order: unified (what systemd and modern tools use), the
 * v1 cpu controller (the one that matters for runnable tasks), name=systemd,
 * then any other controller. If every path is the root, the answer is "/".
 * The kernel writes paths of at most PATH_MAX bytes: a longer one (a crafted
 * tree) is cut there, with a marker.
 */

import { CGROUP_PATH_MAX_BYTES, capBytes } from './limits.ts';

export function parseCgroup(text: string): string | null {
  let unified: string | null = null;
  let cpu: string | null = null;
  let systemd: string | null = null;
  let other: string | null = null;
  let any: string | null = null;
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const a = raw.indexOf(':');
    const b = a < 0 ? -1 : raw.indexOf(':', a + 1);
    if (b < 0) continue;
    const controllers = raw.slice(a + 1, b);
    const path = raw.slice(b + 1);
    any ??= path;
    if (path === '/' || path === '') continue;
    if (controllers === '' && raw.slice(0, a) === '0') unified = path;
    else if (controllers.split(',').includes('cpu')) cpu = path;
    else if (controllers === 'name=systemd') systemd = path;
    else other ??= path;
  }
  const path = unified ?? cpu ?? systemd ?? other ?? any;
  return path === null ? null : capBytes(path, CGROUP_PATH_MAX_BYTES);
}

/** One line of /proc/PID/cgroup: a v1 hierarchy (id > 0, its controllers) or v2 (id 0, none). */
export interface CgroupMembership {
  hierarchyId: number;
  /** v1 controllers and `name=` entries (`cpu`, `cpuacct`, `name=systemd`); empty for v2. */
  controllers: string[];
  /** As the kernel prints it, relative to the reader's cgroup namespace root. */
  path: string;
}

/**
 * Every line of /proc/PID/cgroup. The path is everything after the second
 * colon (a cgroup name may itself contain ':'); the v2 line is "0::/path".
 * A path longer than the kernel can write names no cgroup: its line is left out.
 */
export function parseCgroupPaths(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const raw of text.split('\n')) {
    const a = raw.indexOf(':');
    const b = a < 0 ? -1 : raw.indexOf(':', a + 1);
    if (b < 0) continue;
    const id = Number(raw.slice(0, a));
    if (!Number.isInteger(id) || id < 0) continue;
    const path = raw.slice(b + 1);
    if (path.length * 3 > CGROUP_PATH_MAX_BYTES && Buffer.byteLength(path) > CGROUP_PATH_MAX_BYTES) continue;
    const list = raw.slice(a + 1, b);
    out.push({ hierarchyId: id, controllers: list === '' ? [] : list.split(','), path });
  }
  return out;
}
