/** Builders for synthetic store contents (unit tests and benchmarks). */

import type { Snapshot, TaskSample } from '../../src/model/snapshot.ts';
import type { TimelineSample } from '../../src/model/timeline.ts';

export function sample(
  timeMs: number,
  load1: number,
  procs: Array<{ pid: number; comm: string; r: number; d: number; cgroup?: string }> | null,
): TimelineSample {
  const r = procs?.reduce((a, p) => a + p.r, 0) ?? 0;
  const d = procs?.reduce((a, p) => a + p.d, 0) ?? 0;
  return {
    timeMs,
    load1,
    load5: load1,
    load15: load1,
    runnable: r,
    threads: 300,
    pressure: { cpu: { some: { avg10: 12.5, avg60: 3, avg300: 1, totalUs: 1000 }, full: null } },
    scan: procs
      ? { r, d, procs: procs.map((p) => ({ pid: p.pid, comm: p.comm, cgroup: p.cgroup ?? '/test.slice', r: p.r, d: p.d })) }
      : null,
  };
}

export function snapshot(timeMs: number, tasks: Array<Partial<TaskSample> & Pick<TaskSample, 'pid' | 'state'>>): Snapshot {
  return {
    schema: 'loadmon.snapshot/v1',
    time: new Date(timeMs).toISOString(),
    host: 'test',
    source: 'procfs',
    cpus: 2,
    loadavg: { load1: 4, load5: 2, load15: 1, runnable: 2, threads: 300 },
    trigger: null,
    capture: { ms: 1, threads_scanned: 300 },
    tasks: tasks.map((t) => ({
      tid: t.pid,
      comm: 'task',
      stack: [],
      wchan: null,
      cgroup: '/test.slice',
      ...t,
    })),
    notes: [],
  };
}

export const SESSION = {
  startedMs: 0,
  host: 'test',
  pid: 1,
  cpus: 2,
  source: 'procfs',
  threshold: 3,
  thresholdSpec: '3',
  scanAbove: 1.5,
  sampleMs: 1000,
};
