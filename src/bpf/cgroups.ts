/**
 * cgroup ids (what the BPF iterator can read: the kernfs node id of each of
 * a task's cgroups, one per hierarchy) to the path /proc/PID/cgroup would
 * show. A kernfs node id is the inode number of the cgroup's directory, so
 * each mounted hierarchy is walked once and its inode -> path map kept; a
 * miss (a cgroup created since) walks that hierarchy again, once per capture.
 *
 * The path reported follows the procfs collector's rule (procfs/cgroup.ts):
 * the unified (v2) path if not the root, else the v1 `cpu` controller's, else
 * `name=systemd`'s, else any other non-root one, else "/".
 */

import { type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';

import type { CgroupRef } from './protocol.ts';

export interface Hierarchy {
  id: number;
  /** Controllers as /proc/self/cgroup names them ("cpu", "cpu,cpuacct", "name=systemd"; "" for v2). */
  controllers: string;
  /** Where it is mounted, and which of its directories the mount shows ("/" usually). */
  mountPoint: string | null;
  mountRoot: string;
}

/** Hierarchies from /proc/self/cgroup and their mount points from /proc/self/mountinfo. */
export function parseHierarchies(selfCgroup: string, mountinfo: string): Hierarchy[] {
  const mounts: Array<{ point: string; root: string; fstype: string; opts: Set<string> }> = [];
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const post = line.slice(dash + 3).split(' ');
    const fstype = post[0] ?? '';
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    mounts.push({
      point: unescapeMount(pre[4] ?? ''),
      root: unescapeMount(pre[3] ?? '/'),
      fstype,
      opts: new Set((post[2] ?? '').split(',')),
    });
  }
  const out: Hierarchy[] = [];
  for (const line of selfCgroup.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const id = Number(line.slice(0, a));
    const controllers = line.slice(a + 1, b);
    const wanted = controllers === '' ? [] : controllers.split(',');
    const m =
      id === 0 && controllers === ''
        ? mounts.find((x) => x.fstype === 'cgroup2')
        : mounts.find((x) => x.fstype === 'cgroup' && wanted.every((c) => x.opts.has(c)));
    out.push({ id, controllers, mountPoint: m?.point ?? null, mountRoot: m?.root ?? '/' });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as \\ooo. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The preferred path among a task's per-hierarchy paths, as procfs/cgroup.ts chooses. */
export function choosePath(paths: Array<{ controllers: string; hierarchy: number; path: string }>): string | null {
  if (paths.length === 0) return null;
  // /proc/PID/cgroup lists the highest hierarchy id first; "other" and "any" follow that order.
  const ordered = [...paths].sort((a, b) => b.hierarchy - a.hierarchy);
  const nonRoot = ordered.filter((p) => p.path !== '/' && p.path !== '');
  const unified = nonRoot.find((p) => p.hierarchy === 0 && p.controllers === '');
  const cpu = nonRoot.find((p) => p.hierarchy !== 0 && p.controllers.split(',').includes('cpu'));
  const systemd = nonRoot.find((p) => p.controllers === 'name=systemd');
  const other = nonRoot.find((p) => p !== unified && p !== cpu && p !== systemd);
  return (unified ?? cpu ?? systemd ?? other ?? ordered[0]!).path;
}

export class CgroupResolver {
  private hierarchies: Map<number, Hierarchy> | null = null;
  private readonly byIno = new Map<number, Map<bigint, string>>();
  private readonly walkedThisCapture = new Set<number>();

  constructor(private readonly procRoot = '/proc') {}

  /** Call at the start of each capture: allows one re-walk per hierarchy on a miss. */
  beginCapture(): void {
    this.walkedThisCapture.clear();
  }

  /** The task's cgroup path, or null when no hierarchy could be resolved. */
  pathOf(refs: readonly CgroupRef[]): string | null {
    const hs = this.loadHierarchies();
    const paths: Array<{ controllers: string; hierarchy: number; path: string }> = [];
    for (const r of refs) {
      const h = hs.get(r.hierarchy);
      if (!h || h.mountPoint === null) continue;
      const path = this.lookup(h, r.id);
      if (path !== null) paths.push({ controllers: h.controllers, hierarchy: h.id, path });
    }
    return choosePath(paths);
  }

  private loadHierarchies(): Map<number, Hierarchy> {
    if (this.hierarchies) return this.hierarchies;
    let list: Hierarchy[] = [];
    try {
      list = parseHierarchies(
        readFileSync(`${this.procRoot}/self/cgroup`, 'utf8'),
        readFileSync(`${this.procRoot}/self/mountinfo`, 'utf8'),
      );
    } catch {
      /* no cgroups: every path is null */
    }
    this.hierarchies = new Map(list.map((h) => [h.id, h]));
    return this.hierarchies;
  }

  private lookup(h: Hierarchy, id: bigint): string | null {
    let map = this.byIno.get(h.id);
    if (!map || (!map.has(id) && !this.walkedThisCapture.has(h.id))) {
      map = walk(h);
      this.byIno.set(h.id, map);
      this.walkedThisCapture.add(h.id);
    }
    return map.get(id) ?? null;
  }
}

/** inode -> cgroup path for every directory of a mounted hierarchy. */
function walk(h: Hierarchy): Map<bigint, string> {
  const map = new Map<bigint, string>();
  const base = h.mountRoot === '/' ? '' : h.mountRoot.replace(/\/+$/, '');
  const visit = (dir: string, rel: string): void => {
    try {
      map.set(statSync(dir, { bigint: true }).ino, rel === '' ? base || '/' : `${base}${rel}`);
    } catch {
      return;
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) visit(`${dir}/${e.name}`, `${rel}/${e.name}`);
  };
  visit(h.mountPoint!, '');
  return map;
}
