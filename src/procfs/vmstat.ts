/**
 * Parser for the counters of /proc/vmstat that say the memory manager made
 * tasks wait. Lines are "name value". Names changed across kernels, so each
 * figure sums every spelling (mm/vmstat.c vmstat_text):
 *
 * - direct reclaim entries: `allocstall` (before 4.8), `allocstall_<zone>`
 *   (4.8+: dma, dma32, normal, movable, device);
 * - pages scanned by direct reclaim: `pgscan_direct` (node based, 4.8+) or
 *   `pgscan_direct_<zone>` (before 4.8). `pgscan_direct_throttle` is not a
 *   scan count (it counts throttled direct reclaimers) and is left out;
 * - refaults: `workingset_refault` (before 5.9), `workingset_refault_anon`
 *   plus `workingset_refault_file` (5.9+; 5.10 has these);
 * - `compact_stall`, `pgmajfault`, `pswpin` (absent without CONFIG_COMPACTION
 *   or swap support: a missing counter counts as 0).
 */

export interface VmCounters {
  allocstall: number;
  pgscanDirect: number;
  compactStall: number;
  pgmajfault: number;
  pswpin: number;
  workingsetRefault: number;
}

export function parseVmstat(text: string): VmCounters {
  const c: VmCounters = { allocstall: 0, pgscanDirect: 0, compactStall: 0, pgmajfault: 0, pswpin: 0, workingsetRefault: 0 };
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const key = field(line.slice(0, sp));
    if (key === null) continue;
    const v = Number(line.slice(sp + 1));
    // Counters are unsigned; a few gauges in the file can print negative, none of ours.
    if (Number.isFinite(v) && v >= 0) c[key] += v;
  }
  return c;
}

function field(name: string): keyof VmCounters | null {
  if (name === 'allocstall' || name.startsWith('allocstall_')) return 'allocstall';
  if (name === 'pgscan_direct') return 'pgscanDirect';
  if (name.startsWith('pgscan_direct_')) return name === 'pgscan_direct_throttle' ? null : 'pgscanDirect';
  if (name === 'workingset_refault' || name === 'workingset_refault_anon' || name === 'workingset_refault_file') {
    return 'workingsetRefault';
  }
  if (name === 'compact_stall') return 'compactStall';
  if (name === 'pgmajfault') return 'pgmajfault';
  if (name === 'pswpin') return 'pswpin';
  return null;
}
