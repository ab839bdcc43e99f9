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
import { type CauseId, classifyStack, frameSymbol } from './causes.ts';

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
  /** bpf: time its D threads spent blocked within the last refresh window, ms; null without bpf figures. */
  blocked_ms: number | null;
  tasks: TaskSample[];
}

/** What the header of the live view shows about the trigger. */
export interface TopTriggerState {
  threshold: number | null;
  cooldown_ms: number;
  /** Captures taken with `s` in this session. */
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
  trigger: TopTriggerState;
}

export interface TopInputs {
  snap: Snapshot;
  pressure: Partial<Record<PressureResource, Pressure>>;
  grouping: TopGrouping;
  /** The previous refresh's snapshot: its time bounds the blocked-time window. */
  prev: Snapshot | null;
  /** The window when there is no previous refresh (the refresh interval). */
  intervalMs: number;
  trigger: TopTriggerState;
}

export function buildTopModel(inp: TopInputs): TopModel {
  const { snap } = inp;
  const rows = buildTopRows(snap.tasks, inp.grouping, blockedWindowMs(snap, inp.prev, inp.intervalMs));
  const d = snap.tasks.filter((t) => t.state === 'D').length;
  return {
    time: snap.time,
    host: snap.host,
    source: snap.source,
    cpus: snap.cpus,
    loadavg: snap.loadavg,
    pressure: inp.pressure,
    r: snap.tasks.length - d,
    d,
    threads_scanned: snap.capture.threads_scanned,
    grouping: inp.grouping,
    rows,
    trigger: inp.trigger,
  };
}

/** The time between two refreshes (the interval for the first, or when the clock went back). */
export function blockedWindowMs(snap: Snapshot, prev: Snapshot | null, intervalMs: number): number {
  if (!prev) return intervalMs;
  const ms = Date.parse(snap.time) - Date.parse(prev.time);
  return Number.isFinite(ms) && ms > 0 ? ms : intervalMs;
}

interface RowAcc {
  row: TopRow;
  causes: Map<CauseId, number>;
}

/** Rows ranked by share (ties: more D first, then the key) so the order is stable between refreshes. */
export function buildTopRows(tasks: readonly TaskSample[], grouping: TopGrouping, windowMs: number): TopRow[] {
  const accs = new Map<string, RowAcc>();
  for (const t of tasks) {
    const key = rowKey(t, grouping);
    const acc = getOrCreate(accs, key, () => ({ row: openRow(key, t, grouping), causes: new Map() }));
    addTask(acc, t, windowMs);
  }
  const total = tasks.length;
  const rows = [...accs.values()].map((a) => finishRow(a, total));
  return rows.sort((a, b) => b.r + b.d - (a.r + a.d) || b.d - a.d || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function rowKey(t: TaskSample, grouping: TopGrouping): string {
  switch (grouping) {
    case 'process':
      return String(t.pid);
    case 'cgroup':
      return t.cgroup ?? '';
    case 'command':
      return t.comm;
    case 'stack':
      return `${t.state}\n${t.stack.map(frameSymbol).join('\n')}`;
  }
}

function openRow(key: string, t: TaskSample, grouping: TopGrouping): TopRow {
  const label = rowLabel(t, grouping);
  const pid = grouping === 'process' ? t.pid : null;
  return { key, label, pid, r: 0, d: 0, share: 0, cause: null, blocked_ms: null, tasks: [] };
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

function addTask(acc: RowAcc, t: TaskSample, windowMs: number): void {
  const row = acc.row;
  row.tasks.push(t);
  if (t.state === 'R') {
    row.r++;
    return;
  }
  row.d++;
  const cause = classifyStack(t.stack, t.wchan).cause;
  acc.causes.set(cause, (acc.causes.get(cause) ?? 0) + 1);
  // blocked_ms runs from the moment the thread went off CPU; only the part inside the window is this refresh's.
  if (t.blocked_ms !== undefined) row.blocked_ms = (row.blocked_ms ?? 0) + Math.min(t.blocked_ms, windowMs);
}

function finishRow(acc: RowAcc, total: number): TopRow {
  const row = acc.row;
  row.share = total > 0 ? (row.r + row.d) / total : 0;
  let best: CauseId | null = null;
  let n = 0;
  for (const [cause, count] of acc.causes) {
    if (count > n) {
      best = cause;
      n = count;
    }
  }
  row.cause = best;
  return row;
}

/** The grouping after `g`. */
export function nextGrouping(g: TopGrouping): TopGrouping {
  return TOP_GROUPINGS[(TOP_GROUPINGS.indexOf(g) + 1) % TOP_GROUPINGS.length]!;
}
