/**
 * The rows of `loadmon top`: a capture's R and D tasks folded by process,
 * cgroup, command or kernel stack, ranked by their share of the load (each R
 * or D thread counts 1 toward the load average, so a row's share is its
 * threads over all captured threads). Pure: the live view and its tests build
 * the same rows from the same snapshot.
 */

import { getOrCreate } from '../model/maps.ts';
import type { Pressure, PressureResource } from '../model/pressure.ts';
import type { LoadAvg, Snapshot, SourceName, TaskSample } from '../model/snapshot.ts';
import type { OffcpuEntry } from '../model/timeline.ts';
import { type CauseId, frameSymbol } from './causes.ts';
import { countStates, groupStacks } from './group.ts';
import { captureRelabel, type Relabel } from './limits.ts';
import { taskStack } from './stacks.ts';

export type TopGrouping = 'process' | 'cgroup' | 'command' | 'stack';
/** The order `g` cycles through. */
export const TOP_GROUPINGS: readonly TopGrouping[] = ['process', 'cgroup', 'command', 'stack'];

export interface TopRow {
  /** What the row is: a pid, a cgroup path, a comm, or the stack's frames joined by newlines. */
  key: string;
  /** The name shown (unescaped: the renderer escapes it). */
  label: string;
  /** The process of a `process` row, else null. */
  pid: number | null;
  r: number;
  d: number;
  /** r + d over every captured R/D thread, 0..1. */
  share: number;
  /** The commonest cause among the row's D threads; null when it has none. */
  cause: CauseId | null;
  /** bpf: time its threads spent blocked in D over the last refresh (the tracking's window), ms; null without the tracking. */
  blocked_ms: number | null;
  tasks: TaskSample[];
}

/** What the header of the live view shows about the trigger. */
export interface TopTriggerState {
  threshold: number | null;
  /** What is left of the cooldown after the last capture (0: a crossing now is captured). */
  cooldown_ms: number;
  /** Captures kept in this session (`s` and threshold crossings). */
  captures: number;
  /** ISO time of the last one, null before the first. */
  last_capture: string | null;
}

export interface TopModel {
  time: string;
  host: string;
  source: SourceName;
  cpus: number;
  loadavg: LoadAvg;
  pressure: Partial<Record<PressureResource, Pressure>>;
  r: number;
  d: number;
  threads_scanned: number;
  grouping: TopGrouping;
  rows: TopRow[];
  /** The window the rows' blocked_ms covers, ms; null without the tracking. */
  blocked_window_ms: number | null;
  trigger: TopTriggerState;
  /**
   * The capture's own evidence as a cause rule (a cgroup whose limit bit relabels its tasks' waits
   * 'cgroup'), null without any: the opened row classifies each thread with it, as the rows do.
   */
  relabel: Relabel | null;
}

/** bpf: the time blocked in D measured by the sched_switch tracking over the last refresh. */
export interface TopBlocked {
  windowMs: number;
  entries: readonly OffcpuEntry[];
}

export interface TopInputs {
  snap: Snapshot;
  pressure: Partial<Record<PressureResource, Pressure>>;
  grouping: TopGrouping;
  /** Null without the tracking (procfs, kmod): the rows then have no blocked time at all. */
  blocked: TopBlocked | null;
  trigger: TopTriggerState;
}

export function buildTopModel(inp: TopInputs): TopModel {
  const { snap } = inp;
  // The verdict's rule (capture-verdict.ts): the evidence of the seconds before the capture.
  const relabel = captureRelabel(snap);
  const rows = buildTopRows(snap.tasks, inp.grouping, inp.blocked?.entries ?? null, relabel);
  const { R, D } = countStates(snap.tasks);
  return {
    time: snap.time,
    host: snap.host,
    source: snap.source,
    cpus: snap.cpus,
    loadavg: snap.loadavg,
    pressure: inp.pressure,
    r: R,
    d: D,
    threads_scanned: snap.capture.threads_scanned,
    grouping: inp.grouping,
    rows,
    blocked_window_ms: inp.blocked?.windowMs ?? null,
    trigger: inp.trigger,
    relabel,
  };
}

/**
 * Rows ranked by share (ties: more D first, then the key) so the order is
 * stable between refreshes. `blocked`: the tracking's entries of the window,
 * added to the row each belongs to (null: no blocked time, the column is
 * absent). A process blocked during the window but no longer R/D at the
 * capture has no row: the table is the load now. `relabel`: the cgroup-limit
 * rule of the capture's evidence (taskStack), null without evidence.
 */
export function buildTopRows(
  tasks: readonly TaskSample[],
  grouping: TopGrouping,
  blocked: readonly OffcpuEntry[] | null,
  relabel: Relabel | null = null,
): TopRow[] {
  const groups = grouping === 'stack' ? byStack(tasks) : byKey(tasks, grouping);
  const total = tasks.length;
  const rows = groups.map((g) => finishRow(g, grouping, total, relabel));
  if (blocked) addBlocked(rows, grouping, blocked);
  return rows.sort((a, b) => b.r + b.d - (a.r + a.d) || b.d - a.d || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

interface TaskGroup {
  key: string;
  tasks: TaskSample[];
}

/** Kernel stacks are grouped as everywhere else (analyze/group.ts), by state and symbols. */
function byStack(tasks: readonly TaskSample[]): TaskGroup[] {
  return groupStacks(tasks, {
    key: (t) => ({ state: t.state, frames: t.stack.map(frameSymbol) }),
    open: (k): TaskGroup => ({ key: stackKey(k.state, k.frames), tasks: [] }),
    add: (g, t) => g.tasks.push(t),
    weight: (g) => g.tasks.length,
  });
}

function stackKey(state: string, symbols: readonly string[]): string {
  return `${state}\n${symbols.join('\n')}`;
}

function byKey(tasks: readonly TaskSample[], grouping: Exclude<TopGrouping, 'stack'>): TaskGroup[] {
  const groups = new Map<string, TaskGroup>();
  for (const t of tasks) {
    const key = grouping === 'process' ? String(t.pid) : grouping === 'cgroup' ? (t.cgroup ?? '') : t.comm;
    getOrCreate(groups, key, () => ({ key, tasks: [] })).tasks.push(t);
  }
  return [...groups.values()];
}

function rowLabel(t: TaskSample, grouping: TopGrouping): string {
  switch (grouping) {
    case 'process':
    case 'command':
      return t.comm;
    case 'cgroup':
      return t.cgroup ?? '(unknown cgroup)';
    case 'stack':
      // The innermost frame names where they wait; an R task off the unwinder has none.
      return t.stack.length > 0 ? t.stack.map(frameSymbol).slice(0, 3).join(' < ') : `(no stack, ${t.state})`;
  }
}

function finishRow(g: TaskGroup, grouping: TopGrouping, total: number, relabel: Relabel | null): TopRow {
  const first = g.tasks[0]!;
  const { R, D } = countStates(g.tasks);
  return {
    key: g.key,
    label: rowLabel(first, grouping),
    pid: grouping === 'process' ? first.pid : null,
    r: R,
    d: D,
    share: total > 0 ? (R + D) / total : 0,
    cause: commonestCause(g.tasks, relabel),
    blocked_ms: null,
    tasks: g.tasks,
  };
}

/** The commonest cause among the D tasks (the first seen on ties), by the one rule for a task's cause; null without D tasks. */
function commonestCause(tasks: readonly TaskSample[], relabel: Relabel | null): CauseId | null {
  const counts = new Map<CauseId, number>();
  let best: CauseId | null = null;
  for (const t of tasks) {
    if (t.state !== 'D') continue;
    const { cause } = taskStack(t, relabel);
    const n = (counts.get(cause) ?? 0) + 1;
    counts.set(cause, n);
    if (best === null || n > counts.get(best)!) best = cause;
  }
  return best;
}

function entryKey(e: OffcpuEntry, grouping: TopGrouping): string {
  switch (grouping) {
    case 'process':
      return String(e.pid);
    case 'cgroup':
      return e.cgroup ?? '';
    case 'command':
      return e.comm;
    case 'stack':
      return stackKey('D', e.stack.map(frameSymbol));
  }
}

function addBlocked(rows: TopRow[], grouping: TopGrouping, entries: readonly OffcpuEntry[]): void {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  for (const r of rows) r.blocked_ms = 0;
  for (const e of entries) {
    const row = byKey.get(entryKey(e, grouping));
    if (row) row.blocked_ms! += e.ms;
  }
}

/** The grouping after `g`. */
export function nextGrouping(g: TopGrouping): TopGrouping {
  return TOP_GROUPINGS[(TOP_GROUPINGS.indexOf(g) + 1) % TOP_GROUPINGS.length]!;
}
