/**
 * A scan's R and D threads counted per process, the timeline's per-sample
 * unit (both the procfs light scan and the bpf pass produce it).
 */

import type { ProcessCount, StateScan } from '../model/timeline.ts';
import type { Candidate } from './details.ts';

/**
 * Per-process R/D counts from a scan (procfs stat pass, or a bpf pass); the
 * process's comm is its main thread's when that one is in the list.
 */
export function countByProcess(
  candidates: readonly Pick<Candidate, 'pid' | 'tid' | 'comm' | 'state'>[],
  cgroupOf: (pid: number) => string | null,
): StateScan {
  const byPid = new Map<number, ProcessCount>();
  let r = 0;
  let d = 0;
  for (const c of candidates) {
    let p = byPid.get(c.pid);
    if (!p) {
      p = { pid: c.pid, comm: c.comm, cgroup: null, r: 0, d: 0 };
      byPid.set(c.pid, p);
    }
    if (c.tid === c.pid) p.comm = c.comm;
    if (c.state === 'R') {
      p.r++;
      r++;
    } else {
      p.d++;
      d++;
    }
  }
  for (const p of byPid.values()) p.cgroup = cgroupOf(p.pid);
  return { r, d, procs: [...byPid.values()] };
}
