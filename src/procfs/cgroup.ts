/**
 * Parser for /proc/PID/cgroup. Lines are "hierarchy-id:controllers:path".
 * cgroup v2 has one line "0::/path"; hybrid (v1 + unified) setups have many.
 * We want the path that names the workload, so the most telling non-root
 * path wins, in this order: unified (what systemd and modern tools use), the
 * v1 cpu controller (the one that matters for runnable tasks), name=systemd,
 * then any other controller. If every path is the root, the answer is "/".
 */

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
  return unified ?? cpu ?? systemd ?? other ?? any;
}
