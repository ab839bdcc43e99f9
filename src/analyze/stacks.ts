/**
 * Stacks across captures: identical stacks after normalisation (offsets
 * stripped, so the same code path on two boots or two kernels builds is one
 * stack) are counted together, with the tasks and captures they were seen in.
 */

import type { StackAggregate, TaskRef } from '../model/report.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { normalizeFrame } from '../procfs/stack.ts';
import { type CauseId, classifyRunnableStack, classifyStack } from './causes.ts';
import type { Relabel } from './limits.ts';

export type { StackAggregate, TaskRef };

const MAX_TASK_REFS = 50;

export function normalizeStack(stack: readonly string[]): string[] {
  return stack.map((f) => normalizeFrame(f.trim()));
}

/**
 * `relabel`: where the evidence says a cgroup limit held a process back
 * (limits.ts), its waits are that limit's, whatever the stack.
 */
export function aggregateStacks(captures: Iterable<{ id: number; snapshot: Snapshot }>, relabel: Relabel | null = null): StackAggregate[] {
  const m = new Map<string, StackAggregate & { tids: Set<number> }>();
  for (const { id, snapshot } of captures) {
    for (const t of snapshot.tasks) {
      const frames = normalizeStack(t.stack);
      let cause = t.state === 'D' ? classifyStack(frames, t.wchan).cause : (classifyRunnableStack(frames)?.cause ?? 'unknown');
      if (relabel && cause !== 'unknown') cause = relabel(t.pid, cause, frames);
      const key = `${t.state}\n${cause}\n${frames.join('\n')}`;
      let a = m.get(key);
      if (!a) m.set(key, (a = { state: t.state, frames, cause, count: 0, tasks: [], distinctTasks: 0, captures: [], tids: new Set() }));
      a.count++;
      if (!a.tids.has(t.tid)) {
        a.tids.add(t.tid);
        a.distinctTasks++;
        if (a.tasks.length < MAX_TASK_REFS) a.tasks.push({ pid: t.pid, tid: t.tid, comm: t.comm, cgroup: t.cgroup });
      }
      if (a.captures[a.captures.length - 1] !== id) a.captures.push(id);
    }
  }
  return [...m.values()]
    .map(({ tids: _t, ...a }) => a)
    .sort((a, b) => b.count - a.count || (a.state === 'D' ? -1 : 1) - (b.state === 'D' ? -1 : 1) || a.frames.length - b.frames.length);
}
