/**
 * Grouping of tasks by identical kernel stack: the first thing a person wants
 * from a capture is "how many tasks are stuck in the same place".
 */

import { getOrCreate } from '../model/maps.ts';
import type { TaskSample, TaskState } from '../model/snapshot.ts';

export interface StackGroup {
  state: TaskState;
  /** The shared stack, innermost first (may be empty). */
  stack: string[];
  tasks: TaskSample[];
}

/** Where a task's stack puts it: its state, its frames as compared, and (for the analysis) why it waits. */
export interface StackKey {
  state: TaskState;
  /** Innermost first; compared as they are (the caller normalises them or not). */
  frames: string[];
  /** Splits one stack by cause (a D task with no stack, told apart by wchan; a relabelled wait). */
  cause?: string;
}

/** How `groupStacks` builds its groups: the key of an item, a new group, folding an item in, a group's weight. */
export interface StackGrouping<T, K extends StackKey, G> {
  key(item: T): K;
  open(key: K): G;
  add(group: G, item: T): void;
  weight(group: G): number;
}

/**
 * THE grouping of tasks by stack, for the text format's groups, the
 * analysis's aggregates across captures and the dashboard's capture view:
 * items with the same state, cause and frames make one group. Only groups
 * are kept (`add` folds each item in), so a period's captures stream
 * through in bounded memory. Order: heaviest first, D before R on ties,
 * then the shorter stack, then first seen.
 */
export function groupStacks<T, K extends StackKey, G>(items: Iterable<T>, by: StackGrouping<T, K, G>): G[] {
  const groups = new Map<string, { key: K; group: G }>();
  for (const item of items) {
    const key = by.key(item);
    const id = `${key.state}\n${key.cause ?? ''}\n${key.frames.join('\n')}`;
    const g = getOrCreate(groups, id, () => ({ key, group: by.open(key) }));
    by.add(g.group, item);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, weight: by.weight(g.group) }))
    .sort((a, b) => b.weight - a.weight || stateRank(a.key.state) - stateRank(b.key.state) || a.key.frames.length - b.key.frames.length)
    .map((g) => g.group);
}

/** A capture's tasks by (state, exact stack text), for the text format. */
export function groupByStack(tasks: readonly TaskSample[]): StackGroup[] {
  return groupStacks(tasks, {
    key: (t) => ({ state: t.state, frames: t.stack }),
    open: (k): StackGroup => ({ state: k.state, stack: k.frames, tasks: [] }),
    add: (g, t) => g.tasks.push(t),
    weight: (g) => g.tasks.length,
  });
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
