/** Real load fixtures for integration tests: the project's own loadgen helper. */

import { readdirSync, readFileSync } from 'node:fs';

import { buildLoadgen } from '../../src/workload/helper.ts';
import { Workload } from '../../src/workload/workload.ts';

export function newWorkload(): Workload {
  return new Workload(buildLoadgen());
}

/** State letter of a thread, or null when it is gone. */
export function stateOf(pid: number, tid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return s.charAt(s.lastIndexOf(')') + 2);
  } catch {
    return null;
  }
}

/** Waits (bounded) until every listed thread is in the given state. */
export async function waitForState(tasks: Array<{ pid: number; tid: number }>, state: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const bad = tasks.filter((t) => stateOf(t.pid, t.tid) !== state);
    if (bad.length === 0) return;
    if (Date.now() > end)
      throw new Error(`tasks not in ${state}: ${bad.map((t) => `${t.pid}/${t.tid}=${stateOf(t.pid, t.tid)}`).join(' ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function threadIds(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map(Number);
}

export interface TaskRef {
  pid: number;
  tid: number;
}

/** The standard mixed fixture: 3 vfork D, 2 busy R, a D and an S task named "x) R (y", a thread that vforks. */
export interface MixedLoad {
  work: Workload;
  dTasks: TaskRef[];
  rTasks: TaskRef[];
  hostileD: TaskRef;
  /** pid of a sleeping (S) process with the hostile comm: must never be captured. */
  hostileS: number;
  /** The one D thread of a multi-threaded process (tid != pid). */
  multi: TaskRef;
}

export const HOSTILE_COMM = 'x) R (y';

/** Starts the mixed fixture and waits until every task is in its state. */
export async function startMixedLoad(seconds: number): Promise<MixedLoad> {
  const work = newWorkload();
  const dTasks: TaskRef[] = [];
  const rTasks: TaskRef[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await work.vfork(seconds);
    dTasks.push({ pid: s.pid, tid: s.pid });
  }
  for (let i = 0; i < 2; i++) {
    const s = await work.spin(seconds);
    rTasks.push({ pid: s.pid, tid: s.pid });
  }
  const h = await work.vfork(seconds, HOSTILE_COMM);
  const hostileD = { pid: h.pid, tid: h.pid };
  const hostileS = (await work.threads(0, seconds, HOSTILE_COMM)).pid;
  const m = await work.vforkThread(5, seconds);
  const multi = { pid: m.pid, tid: m.tid! };
  await waitForState([...dTasks, hostileD, multi], 'D');
  await waitForState(rTasks, 'R');
  return { work, dTasks, rTasks, hostileD, hostileS, multi };
}
