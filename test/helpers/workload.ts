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
    if (Date.now() > end) throw new Error(`tasks not in ${state}: ${bad.map((t) => `${t.pid}/${t.tid}=${stateOf(t.pid, t.tid)}`).join(' ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function threadIds(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map(Number);
}
