/**
 * Parser for /proc/PID/cgroup. Lines are "hierarchy-id:controllers:path".
 * cgroup v2 has one line "0::/path". Hybrid setups have both; the unified
 * line is what systemd and modern tools name a workload by, so it wins when
 * it says something; otherwise the v1 cpu controller (the one that matters
 * for runnable tasks), then name=systemd, then whatever comes first.
 */

export function parseCgroup(text: string): string | null {
  let unified: string | null = null;
  let cpu: string | null = null;
  let systemd: string | null = null;
  let first: string | null = null;
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const a = raw.indexOf(':');
    const b = a < 0 ? -1 : raw.indexOf(':', a + 1);
    if (b < 0) continue;
    const id = raw.slice(0, a);
    const controllers = raw.slice(a + 1, b).split(',');
    const path = raw.slice(b + 1);
    if (id === '0' && controllers.length === 1 && controllers[0] === '') unified = path;
    else if (controllers.includes('cpu')) cpu = path;
    else if (controllers.includes('name=systemd')) systemd = path;
    first ??= path;
  }
  // In hybrid mode the unified line is "0::/" when nothing is attached there.
  if (unified !== null && (unified !== '/' || (cpu ?? systemd) === null)) return unified;
  return cpu ?? systemd ?? first;
}
