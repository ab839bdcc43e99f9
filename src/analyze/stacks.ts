/**
 * Stacks across captures: identical stacks after normalisation (offsets
 * stripped, so the same code path on two boots or two kernels builds is one
 * stack) are counted together, with the tasks and captures they were seen in.
 */

import type { StackAggregate, TaskRef } from '../model/report.ts';
import type { Snapshot, TaskSample } from '../model/snapshot.ts';
import { normalizeFrame } from '../procfs/stack.ts';
import { type CauseId, classifyRunnableStack, classifyStack } from './causes.ts';
import { groupStacks, type StackKey } from './group.ts';
import type { Relabel } from './limits.ts';

export type { StackAggregate, TaskRef };

const MAX_TASK_REFS = 50;

export function normalizeStack(stack: readonly string[]): string[] {
  return stack.map((f) => normalizeFrame(f.trim()));
}

/** A task's place in the analysis: its state, normalised frames and cause. */
export interface TaskStack extends StackKey {
  cause: CauseId;
}

/**
 * D: why the task waits (from its stack, or wchan when it has none). R: the
 * wait it was just woken from ('unknown': CPU demand). `relabel`: where the
 * evidence says a cgroup limit held a process back (limits.ts), its waits
 * are that limit's, whatever the stack.
 */
export function taskStack(t: TaskSample, relabel: Relabel | null = null): TaskStack {
  const frames = normalizeStack(t.stack);
  let cause = t.state === 'D' ? classifyStack(frames, t.wchan).cause : (classifyRunnableStack(frames)?.cause ?? 'unknown');
  if (relabel && cause !== 'unknown') cause = relabel(t.pid, cause, frames);
  return { state: t.state, frames, cause };
}

type Observation = { id: number; task: TaskSample };

function* observations(captures: Iterable<{ id: number; snapshot: Snapshot }>): Generator<Observation> {
  for (const { id, snapshot } of captures) for (const task of snapshot.tasks) yield { id, task };
}

/** The stacks of a period's captures (groupStacks): observations, distinct tasks, the captures they were in. */
export function aggregateStacks(captures: Iterable<{ id: number; snapshot: Snapshot }>, relabel: Relabel | null = null): StackAggregate[] {
  const groups = groupStacks(observations(captures), {
    key: (o: Observation) => taskStack(o.task, relabel),
    open: (k): StackAggregate & { tids: Set<number> } => ({ ...k, count: 0, tasks: [], distinct_tasks: 0, captures: [], tids: new Set() }),
    add: (a, { id, task: t }) => {
      a.count++;
      if (!a.tids.has(t.tid)) {
        a.tids.add(t.tid);
        a.distinct_tasks++;
        if (a.tasks.length < MAX_TASK_REFS) a.tasks.push({ pid: t.pid, tid: t.tid, comm: t.comm, cgroup: t.cgroup });
      }
      if (a.captures[a.captures.length - 1] !== id) a.captures.push(id);
    },
    weight: (a) => a.count,
  });
  return groups.map(({ tids: _t, ...a }) => a);
}
