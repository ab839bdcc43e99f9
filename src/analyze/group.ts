/**
 * Grouping of tasks by identical kernel stack: the first thing a person wants
 * from a capture is "how many tasks are stuck in the same place".
 */

import type { TaskSample, TaskState } from '../model/snapshot.ts';

export interface StackGroup {
  state: TaskState;
  /** The shared stack, innermost first (may be empty). */
  stack: string[];
  tasks: TaskSample[];
}

/** Groups by (state, exact stack text); most populous first, D before R on ties. */
export function groupByStack(tasks: readonly TaskSample[]): StackGroup[] {
  const groups = new Map<string, StackGroup>();
  for (const t of tasks) {
    const key = `${t.state}\n${t.stack.join('\n')}`;
    let g = groups.get(key);
    if (!g) {
      g = { state: t.state, stack: t.stack, tasks: [] };
      groups.set(key, g);
    }
    g.tasks.push(t);
  }
  return [...groups.values()].sort(
    (a, b) => b.tasks.length - a.tasks.length || stateRank(a.state) - stateRank(b.state) || a.stack.length - b.stack.length,
  );
}

function stateRank(s: TaskState): number {
  return s === 'D' ? 0 : 1;
}

export function countStates(tasks: readonly TaskSample[]): { R: number; D: number } {
  let R = 0;
  let D = 0;
  for (const t of tasks) {
    if (t.state === 'R') R++;
    else D++;
  }
  return { R, D };
}
