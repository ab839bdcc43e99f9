/**
 * Builds the report for a period from the store: the load curve, the
 * captures, the verdict, the attribution and the stacks. Heavy aggregation
 * is done by SQL; only the replay window (15 min) and the captures are
 * read row by row.
 */

import { type MeanAttribution, REPORT_SCHEMA, type Report, type ReportCapture } from '../model/report.ts';
import type { Snapshot, Trigger } from '../model/snapshot.ts';
import type { CaptureRow, StoreReader } from '../store/reader.ts';
import { attributeLoad1, byCgroup, type Contribution, REPLAY_WINDOW_MS } from './attribution.ts';
import { blockedTime, coversPeriod, MEASURED_D_COVERAGE } from './blocked.ts';
import { aggregateChains, aggregateEvidence } from './evidence.ts';
import { limitRelabel } from './limits.ts';
import { aggregateStacks } from './stacks.ts';
import { decideVerdict } from './verdict.ts';

export const ATTRIBUTION_METHOD =
  "replay of the kernel's load1 update (every 5 s, load1 = load1*1884/2048 + n*(1-1884/2048)) over the recorded per-process R/D " +
  'counts; see docs/attribution.md';

/** Samples read at a time when looking for the longest run of thinned ones: memory stays bounded over days. */
const RUN_CHUNK_MS = 3_600_000;

/** High-load samples whose evidence a report reads at most (spread evenly over the period). */
const EVIDENCE_SAMPLES = 3600;

export interface ReportPeriod {
  since: number | null;
  until: number | null;
  top: number;
}

export function buildReport(store: StoreReader, p: ReportPeriod): Report {
  const span = store.span();
  const from = p.since ?? span?.first ?? 0;
  const to = p.until ?? span?.last ?? 0;
  const session = store.sessionAt(span ? to : null);
  const cpus = session?.cpus ?? null;
  const curve = span ? store.loadCurve(from, to) : null;

  const captureRows = span ? store.captures(from, to) : [];
  // Evidence first: a cgroup limit that held tasks back relabels their waits (limits.ts).
  const evidence = span ? aggregateEvidence(store.evidence(from, to, EVIDENCE_SAMPLES)) : null;
  const relabel = limitRelabel(evidence);
  // The stacks decode every capture of the period once; their triggers are kept on the way.
  const triggers = new Map<number, Trigger | null>();
  const allStacks = span ? aggregateStacks(keepTriggers(store.snapshots(from, to), triggers), relabel) : [];
  // A capture listed but not decoded was deleted by retention in between: its trigger is gone with it.
  const captures = captureRows.map((c) => reportCapture(store, c, triggers.get(c.id) ?? null));

  // Replay only the last REPLAY_WINDOW_MS: what came before has decayed below 1e-6.
  const replayFrom = Math.max(from, to - REPLAY_WINDOW_MS);
  const atEnd = span ? attributeLoad1(store.samples(replayFrom, to), store.procPoints(replayFrom, to), session?.sampleMs ?? 1000) : null;

  const coverage = span ? store.offcpuCoverage(from, to) : { samples: 0, ms: 0 };
  const blocked = curve ? blockedTime(store.offcpuTotals(from, to), coverage, curve.sampledMs, Number.MAX_SAFE_INTEGER, relabel) : null;
  const chains = span ? aggregateChains(store.chains(from, to), coverage.ms) : [];
  let mean: MeanAttribution | null = null;
  if (curve) {
    const byKey = new Map<string, Contribution>();
    for (const t of store.processTotals(from, to)) {
      byKey.set(`${t.pid}\0${t.comm}\0${t.cgroup ?? ''}`, {
        key: `pid ${t.pid} (${t.comm})`,
        pid: t.pid,
        comm: t.comm,
        cgroup: t.cgroup,
        r: t.r / curve.samples,
        d: t.d / curve.samples,
        total: 0,
      });
    }
    // Measured beats sampled: where the off-CPU tracking covered the whole
    // period, each process's D share is its time blocked over that time.
    const measured = blocked !== null && coversPeriod(blocked, curve.sampledMs);
    if (measured) {
      const sampled = [...byKey.values()].map((c) => ({ c, d: c.d }));
      for (const c of byKey.values()) c.d = 0;
      for (const b of blocked.processes) {
        const key = `${b.pid}\0${b.comm}\0${b.cgroup ?? ''}`;
        const c = byKey.get(key) ?? { key: `pid ${b.pid} (${b.comm})`, pid: b.pid, comm: b.comm, cgroup: b.cgroup, r: 0, d: 0, total: 0 };
        c.d = b.mean_d;
        byKey.set(key, c);
      }
      splitSampled(sampled, blocked.processes);
    }
    const processes = [...byKey.values()]
      .map((c) => ({ ...c, total: c.r + c.d }))
      .filter((c) => c.total > 0)
      .sort((a, b) => b.total - a.total);
    const explained = processes.reduce((a, c) => a + c.total, 0);
    mean = {
      samples: curve.samples,
      d_from: measured ? 'blocked_time' : 'samples',
      load1_avg: curve.avg,
      processes,
      cgroups: byCgroup(processes),
      states: { R: measured ? processes.reduce((a, c) => a + c.r, 0) : curve.meanR, D: measured ? blocked.mean_d : curve.meanD },
      unattributed: Math.max(0, curve.avg - explained),
    };
  }

  // The verdict looks at the time the load was high: the scanned samples, or the captures.
  let meanR: number | null = null;
  let meanD: number | null = null;
  if (curve && curve.highSamples > 0) {
    meanR = curve.highMeanR;
    meanD = curve.highMeanD;
    // The tracking measured the D part of those samples: it takes D, and R is what remains of the sampled R + D.
    const high = store.highOffcpu(from, to);
    if (high.samples >= MEASURED_D_COVERAGE * curve.highSamples && high.ms > 0) {
      meanD = high.blockedMs / high.ms;
      meanR = Math.max(0, curve.highMeanR + curve.highMeanD - meanD);
    }
  } else if (captures.length > 0) {
    meanR = captures.reduce((a, c) => a + c.r, 0) / captures.length;
    meanD = captures.reduce((a, c) => a + c.d, 0) / captures.length;
  }
  const topR = (mean?.processes ?? [])
    .filter((c) => c.r > 0)
    .sort((a, b) => b.r - a.r)
    .map((c) => ({ pid: c.pid!, tid: c.pid!, comm: c.comm!, cgroup: c.cgroup ?? null }));
  const peaks = span ? store.pressurePeaks(from, to) : null;
  const verdict = decideVerdict({
    cpus: cpus ?? 1,
    meanR,
    meanD,
    maxLoad1: curve?.max ?? null,
    threshold: session?.threshold ?? null,
    topR,
    stacks: allStacks,
    blocked: blocked?.stacks ?? [],
    evidence,
    chains,
    pressure: { io_full: peaks?.ioFull ?? null, memory_full: peaks?.memFull ?? null },
  });

  return {
    schema: REPORT_SCHEMA,
    store: store.path,
    period: { from: span ? new Date(from).toISOString() : null, to: span ? new Date(to).toISOString() : null },
    host: session?.host ?? null,
    cpus,
    threshold: session?.threshold ?? null,
    load: curve
      ? {
          samples: curve.samples,
          first: new Date(curve.firstMs).toISOString(),
          last: new Date(curve.lastMs).toISOString(),
          min: curve.min,
          avg: round3(curve.avg),
          max: curve.max,
          above_threshold_s: curve.aboveThresholdMs / 1000,
          sampled_s: curve.sampledMs / 1000,
          scanned_samples: curve.scanned,
          thinned_samples: curve.thinned,
          thinned_longest_run: curve.thinned > 0 ? longestThinnedRun(store, from, to) : 0,
          mean_r: round3(curve.meanR),
          mean_d: round3(curve.meanD),
        }
      : null,
    pressure_peak_avg10: peaks
      ? {
          cpu_some: peaks.cpuSome,
          cpu_full: peaks.cpuFull,
          io_some: peaks.ioSome,
          io_full: peaks.ioFull,
          memory_some: peaks.memSome,
          memory_full: peaks.memFull,
        }
      : {},
    captures,
    verdict,
    attribution: {
      method: ATTRIBUTION_METHOD,
      at_end: atEnd ? trimAttribution(atEnd, p.top) : null,
      mean: mean ? trimAttribution(mean, p.top) : null,
    },
    stacks: allStacks.slice(0, p.top).map((s) => ({ ...s, share: captures.length > 0 ? s.count / captures.length : 0 })),
    evidence:
      evidence || chains.length > 0
        ? { ...(evidence ?? { samples: 0, devices: [], memory: null, cgroups: [] }), chains: chains.slice(0, p.top) }
        : null,
    blocked: blocked
      ? {
          ...blocked,
          processes: blocked.processes.slice(0, p.top),
          commands: blocked.commands.slice(0, p.top),
          stacks: blocked.stacks.slice(0, p.top),
        }
      : null,
  };
}

/**
 * Measured D replaces sampled D; R becomes what remains of the process's
 * sampled R + D. A sample sees a thread in R or in D at one instant -- which
 * of the two depends on when the pass runs (a pass that holds a CPU finds
 * threads just woken from I/O still queued, R) -- but it sees it in one of
 * them; the tracking measures the D part exactly. Without this a thread
 * would count twice: R in the samples and D in the measured time (R 4.76 +
 * D 3.54 from a process of 6 threads). `sampled`: the contributions with
 * the D they were sampled with (their own d is the measured one by now).
 */
function splitSampled(
  sampled: ReadonlyArray<{ c: Contribution; d: number }>,
  measuredD: ReadonlyArray<{ pid: number; comm: string; mean_d: number }>,
): void {
  const dOf = new Map<string, number>();
  for (const b of measuredD) dOf.set(`${b.pid}\0${b.comm}`, (dOf.get(`${b.pid}\0${b.comm}`) ?? 0) + b.mean_d);
  // Keyed by pid and comm: the tracking's cgroup may be named differently from the scan's (hybrid hosts).
  const groups = new Map<string, Array<{ c: Contribution; rd: number }>>();
  for (const { c, d } of sampled) {
    const key = `${c.pid}\0${c.comm}`;
    const g = groups.get(key) ?? [];
    g.push({ c, rd: c.r + d });
    groups.set(key, g);
  }
  for (const [key, g] of groups) {
    const total = g.reduce((a, x) => a + x.rd, 0);
    const r = Math.max(0, total - (dOf.get(key) ?? 0));
    const sumR = g.reduce((a, x) => a + x.c.r, 0);
    for (const x of g) x.c.r = sumR > 0 ? (r * x.c.r) / sumR : 0;
  }
}

function trimAttribution<T extends { processes: Contribution[]; cgroups: Contribution[] }>(a: T, top: number): T {
  // The totals stay exact: what is cut is summed into one "others" row.
  return { ...a, processes: withOthers(a.processes, top), cgroups: withOthers(a.cgroups, top) };
}

function withOthers(list: Contribution[], top: number): Contribution[] {
  if (list.length <= top) return list;
  const rest = list.slice(top);
  return [
    ...list.slice(0, top),
    {
      key: `${rest.length} others`,
      r: rest.reduce((a, c) => a + c.r, 0),
      d: rest.reduce((a, c) => a + c.d, 0),
      total: rest.reduce((a, c) => a + c.total, 0),
    },
  ];
}

/**
 * The most consecutive samples whose light scan --cpu-budget skipped: the
 * stride is not stored, and a run of n thinned samples between two scans is
 * a stride of n + 1. An hour at a time, so a week's report holds one hour of
 * rows; an hour's counts come first (one aggregate query), and only an hour
 * with some but not all samples thinned is read row by row. A run may span hours.
 */
export function longestThinnedRun(store: StoreReader, from: number, to: number): number {
  let run = 0;
  let longest = 0;
  for (let t = from; t <= to; t += RUN_CHUNK_MS) {
    const end = Math.min(to, t + RUN_CHUNK_MS - 1);
    const counts = store.loadCurve(t, end);
    if (!counts || counts.thinned === 0) {
      if (counts) run = 0;
      continue;
    }
    if (counts.thinned === counts.samples) {
      run += counts.samples;
      longest = Math.max(longest, run);
      continue;
    }
    for (const s of store.samples(t, end)) {
      run = s.thinned ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
  }
  return longest;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Passes the snapshots through, noting each one's trigger by capture id. */
function* keepTriggers(
  snapshots: Iterable<{ id: number; snapshot: Snapshot }>,
  into: Map<number, Trigger | null>,
): Generator<{ id: number; snapshot: Snapshot }> {
  for (const s of snapshots) {
    into.set(s.id, s.snapshot.trigger ?? null);
    yield s;
  }
}

/**
 * A stored capture as the report and the API show it: its counts, the rule
 * that fired it and its pre-trigger context. The trigger is only in the
 * snapshot: a caller that has decoded it passes it, otherwise it is decoded here.
 */
export function reportCapture(store: StoreReader, c: CaptureRow, trigger?: Trigger | null): ReportCapture {
  const ctx = store.contextSummary(c.contextFromMs, c.t);
  return {
    id: c.id,
    time: new Date(c.t).toISOString(),
    source: c.source,
    load1: c.load1,
    r: c.r,
    d: c.d,
    trigger: trigger !== undefined ? trigger : (store.snapshot(c.id).trigger ?? null),
    context: { from: new Date(c.contextFromMs).toISOString(), samples: ctx.samples, scanned: ctx.scanned, max_load1: ctx.maxLoad1 },
  };
}
