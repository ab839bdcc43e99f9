/**
 * What the API answers, built from the store with loadmon's own analysis
 * (src/analyze): the downsampled timeline, a capture's summary line and its
 * full view (verdict, stacks grouped after normalisation), and the folded
 * stacks behind every flame graph. Pure functions of a StoreReader.
 */

import { captureVerdict } from '../analyze/capture-verdict.ts';
import { CAUSES, type CauseId } from '../analyze/causes.ts';
import { groupStacks } from '../analyze/group.ts';
import { reportCapture } from '../analyze/report.ts';
import { taskStack } from '../analyze/stacks.ts';
import type { VerdictLine } from '../analyze/verdict.ts';
import { type FoldedCaptures, foldCaptures } from '../format/export.ts';
import type { ReportCapture } from '../model/report.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { CaptureRow, StoreReader } from '../store/reader.ts';
import type { Range } from './params.ts';

export interface TimelineResponse {
  from: number;
  to: number;
  /** Width of a point in ms (the sample period when not downsampled). */
  step_ms: number;
  /** Samples the range holds. */
  samples: number;
  threshold: number | null;
  /** Columns of equal length; a null row marks a gap (no samples) so a chart does not join across it. */
  columns: {
    t: number[];
    load1: Array<number | null>;
    load5: Array<number | null>;
    load15: Array<number | null>;
    runnable: Array<number | null>;
    r: Array<number | null>;
    d: Array<number | null>;
    cpu_some: Array<number | null>;
    io_some: Array<number | null>;
    io_full: Array<number | null>;
    memory_some: Array<number | null>;
    memory_full: Array<number | null>;
    /** Busiest block device's utilisation, % (high-load samples only). */
    disk_util: Array<number | null>;
  };
}

/** At most `points` points over the range: buckets of equal width, each the maximum of its samples. */
export function buildTimeline(store: StoreReader, range: Range, points: number): TimelineResponse {
  const session = store.sessionAt(range.to);
  const sampleMs = session?.sampleMs ?? 1000;
  const span = range.to - range.from + 1;
  const step = Math.max(sampleMs, Math.ceil(span / points));
  const buckets = store.timelineBuckets(range.from, range.to, step);
  const cols: TimelineResponse['columns'] = {
    t: [],
    load1: [],
    load5: [],
    load15: [],
    runnable: [],
    r: [],
    d: [],
    cpu_some: [],
    io_some: [],
    io_full: [],
    memory_some: [],
    memory_full: [],
    disk_util: [],
  };
  const gap = (t: number): void => {
    cols.t.push(t);
    for (const k of Object.keys(cols) as Array<keyof typeof cols>) if (k !== 't') (cols[k] as Array<number | null>).push(null);
  };
  let samples = 0;
  let prev: number | null = null;
  for (const b of buckets) {
    if (prev !== null && b.t - prev > 2 * step + sampleMs && cols.t.length < 2 * points) gap(prev + step);
    samples += b.samples;
    cols.t.push(b.t);
    cols.load1.push(b.load1);
    cols.load5.push(b.load5);
    cols.load15.push(b.load15);
    cols.runnable.push(b.runnable);
    cols.r.push(b.r);
    cols.d.push(b.d);
    cols.cpu_some.push(b.cpuSome);
    cols.io_some.push(b.ioSome);
    cols.io_full.push(b.ioFull);
    cols.memory_some.push(b.memSome);
    cols.memory_full.push(b.memFull);
    cols.disk_util.push(b.diskUtil === null ? null : Math.round(b.diskUtil * 1000) / 10);
    prev = b.t;
  }
  return { from: range.from, to: range.to, step_ms: step, samples, threshold: session?.threshold ?? null, columns: cols };
}

export interface CaptureSummary {
  id: number;
  time: string;
  t: number;
  source: string;
  load1: number;
  r: number;
  d: number;
  /** The capture's main verdict line. */
  verdict: { kind: VerdictLine['kind']; cause: CauseId | null; text: string };
}

/**
 * Summaries of captures. Captures never change once stored, so a verdict is
 * computed once per id (decoding the snapshot) and remembered.
 */
export class CaptureSummaries {
  private readonly cache = new Map<number, CaptureSummary['verdict']>();

  constructor(private readonly max = 20_000) {}

  summarise(store: StoreReader, rows: readonly CaptureRow[]): CaptureSummary[] {
    return rows.map((c) => {
      let v = this.cache.get(c.id);
      if (!v) {
        const line = captureVerdict(c.id, store.snapshot(c.id))[0]!;
        v = { kind: line.kind, cause: line.cause, text: line.text };
        if (this.cache.size >= this.max) this.cache.clear();
        this.cache.set(c.id, v);
      }
      return { id: c.id, time: new Date(c.t).toISOString(), t: c.t, source: c.source, load1: c.load1, r: c.r, d: c.d, verdict: v };
    });
  }
}

export interface StackGroupView {
  state: 'R' | 'D';
  /** Normalised frames, innermost first. */
  frames: string[];
  cause: CauseId | null;
  cause_label: string | null;
  count: number;
  pids: number[];
  comms: string[];
  cgroups: Array<string | null>;
  tasks: Array<{ pid: number; tid: number; comm: string; cgroup: string | null; wchan: string | null }>;
}

export interface CaptureView {
  capture: ReportCapture;
  verdict: VerdictLine[];
  groups: StackGroupView[];
  snapshot: Snapshot;
}

/** The full view of one capture: verdict with evidence, tasks grouped by normalised stack and cause, the snapshot. */
export function buildCaptureView(store: StoreReader, row: CaptureRow): CaptureView {
  const snap = store.snapshot(row.id);
  const groups = groupStacks(snap.tasks, {
    key: (t) => taskStack(t),
    open: (k): StackGroupView => ({
      state: k.state,
      frames: k.frames,
      cause: k.state === 'D' ? k.cause : null,
      cause_label: k.state === 'D' ? CAUSES[k.cause].label : null,
      count: 0,
      pids: [],
      comms: [],
      cgroups: [],
      tasks: [],
    }),
    add: (g, t) => {
      g.count++;
      g.tasks.push({ pid: t.pid, tid: t.tid, comm: t.comm, cgroup: t.cgroup, wchan: t.wchan });
    },
    weight: (g) => g.count,
  });
  for (const g of groups) {
    g.pids = [...new Set(g.tasks.map((t) => t.pid))];
    g.comms = [...new Set(g.tasks.map((t) => t.comm))];
    g.cgroups = [...new Set(g.tasks.map((t) => t.cgroup))];
  }
  return {
    capture: reportCapture(store, row, snap.trigger),
    verdict: captureVerdict(row.id, snap),
    groups,
    snapshot: snap,
  };
}

/** The folded stacks of the captures in a range (at most `limit` newest captures, decoded one at a time). */
export function foldRange(store: StoreReader, range: Range, limit: number): FoldedCaptures {
  const { rows } = store.capturesInRange(range.from, range.to, limit);
  return foldCaptures(snapshotsOf(store, rows));
}

function* snapshotsOf(store: StoreReader, rows: readonly CaptureRow[]): Generator<Snapshot> {
  for (const r of rows) yield store.snapshot(r.id);
}
