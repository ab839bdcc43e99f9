/**
 * The verdict: what kind of overload the period had, with the evidence for
 * each claim. Rules (docs/verdict.md):
 *
 *  1. The load while it was high (mean R and D threads of the scanned
 *     samples; else the captures) is split by cause. D by the measured time
 *     blocked in D per cause (--source bpf), else by the D task
 *     observations in the captures. R into the tasks woken from a wait that
 *     still wait for a CPU (their stack shows the wait: a thread woken from
 *     submit_bio_wait is I/O-bound, not CPU-bound), counted with that
 *     wait's cause, and the rest, which is CPU demand.
 *  2. CPU saturation when the CPU-demand R is at least the CPU count;
 *     "severe" at twice it.
 *  3. Waits when the waiting threads (D plus woken R) are at least 1 and at
 *     least a quarter of the load: one line per cause holding at least 10%
 *     of them, each citing its stacks, tasks, captures and the evidence
 *     beyond stacks (devices, cgroup limits, memory stalls, lock holders).
 *  4. Otherwise: no overload.
 *
 * Lines are ordered by their share of the load (mean threads); no thread is
 * counted in two lines.
 */

import { getOrCreate } from '../model/maps.ts';
import type { StackAggregate, TaskRef, VerdictEvidence, VerdictInput, VerdictLine } from '../model/report.ts';
import { CAUSES, type CauseId } from './causes.ts';
import { waitDetail } from './verdict-text.ts';

export type { VerdictEvidence, VerdictInput, VerdictLine };

const SATURATION = 1;
const SEVERE = 2;
const MIN_WAIT = 1;
const MIN_WAIT_SHARE = 0.25;
const MIN_CAUSE_SHARE = 0.1;

/** One cause's part of the waiting threads, and where it was seen. */
interface CausePart {
  cause: CauseId;
  d: number;
  woken: number;
  /** The share of the D figure it came from (time blocked, or observations). */
  dFrac: number;
  stacks: Array<{ frames: string[]; count: number }>;
  tasks: TaskRef[];
  captures: number[];
}

export function decideVerdict(v: VerdictInput): VerdictLine[] {
  const r = v.meanR ?? 0;
  const d = v.meanD ?? 0;
  const woken = splitR(v.stacks, r);
  const rCpu = Math.max(0, r - [...woken.values()].reduce((a, x) => a + x.n, 0));
  const lines: VerdictLine[] = [];
  if (rCpu >= SATURATION * v.cpus) lines.push(cpuLine(v, rCpu, r));

  const parts = splitD(v, d);
  for (const [cause, w] of woken) {
    const p = parts.get(cause) ?? { cause, d: 0, woken: 0, dFrac: 0, stacks: [], tasks: [], captures: [] };
    p.woken = w.n;
    if (p.stacks.length === 0) p.stacks = w.stacks;
    p.tasks = uniqTasks([...p.tasks, ...w.tasks]).slice(0, 5);
    p.captures = uniq([...p.captures, ...w.captures]).slice(0, 5);
    parts.set(cause, p);
  }
  const waiting = d + [...woken.values()].reduce((a, x) => a + x.n, 0);
  if (waiting >= MIN_WAIT && waiting >= MIN_WAIT_SHARE * (r + d)) {
    if (parts.size === 0) lines.push(noCaptureLine(d));
    const measured = (v.blocked ?? []).some((s) => s.blocked_s > 0);
    for (const p of parts.values()) {
      const share = p.d + p.woken;
      if (share / waiting < MIN_CAUSE_SHARE) continue;
      lines.push(waitLine(v, p, d, measured));
    }
  }
  if (lines.length === 0) lines.push(noOverloadLine(v, r, d));
  return lines.sort((a, b) => b.share - a.share);
}

/**
 * R threads woken from a wait, per cause: the captures' R observations
 * whose stack shows the wait they were woken from, as a share of all R
 * observations, applied to the mean R.
 */
function splitR(
  stacks: readonly StackAggregate[],
  r: number,
): Map<CauseId, { n: number; stacks: CausePart['stacks']; tasks: TaskRef[]; captures: number[] }> {
  const rStacks = stacks.filter((s) => s.state === 'R');
  const total = rStacks.reduce((a, s) => a + s.count, 0);
  const out = new Map<CauseId, { n: number; stacks: CausePart['stacks']; tasks: TaskRef[]; captures: number[] }>();
  if (total === 0 || r <= 0) return out;
  for (const s of rStacks) {
    if (s.cause === 'unknown') continue;
    const e = out.get(s.cause) ?? { n: 0, stacks: [], tasks: [], captures: [] };
    e.n += (r * s.count) / total;
    if (e.stacks.length < 3) e.stacks.push({ frames: s.frames, count: s.count });
    e.tasks = uniqTasks([...e.tasks, ...s.tasks]).slice(0, 5);
    e.captures = uniq([...e.captures, ...s.captures]).slice(0, 5);
    out.set(s.cause, e);
  }
  return out;
}

/** The mean D split by cause: by measured blocked time when there is some, else by capture observations. */
function splitD(v: VerdictInput, d: number): Map<CauseId, CausePart> {
  const out = new Map<CauseId, CausePart>();
  const dCaptures = v.stacks.filter((s) => s.state === 'D');
  const blocked = (v.blocked ?? []).filter((s) => s.blocked_s > 0);
  const total = blocked.length > 0 ? blocked.reduce((a, s) => a + s.blocked_s, 0) : dCaptures.reduce((a, s) => a + s.count, 0);
  if (total === 0) return out;
  if (blocked.length > 0) {
    for (const s of blocked) {
      const p = part(out, s.cause);
      p.dFrac += s.blocked_s / total;
      if (p.stacks.length < 3) p.stacks.push({ frames: s.frames, count: s.intervals });
      p.tasks = uniqTasks([...p.tasks, ...s.processes.map((x) => ({ pid: x.pid, tid: x.pid, comm: x.comm, cgroup: null }))]).slice(0, 5);
    }
    for (const s of dCaptures) if (out.has(s.cause)) out.get(s.cause)!.captures.push(...s.captures);
  } else {
    for (const s of dCaptures) {
      const p = part(out, s.cause);
      p.dFrac += s.count / total;
      if (p.stacks.length < 3) p.stacks.push({ frames: s.frames, count: s.count });
      p.tasks = uniqTasks([...p.tasks, ...s.tasks]).slice(0, 5);
      p.captures.push(...s.captures);
    }
  }
  for (const p of out.values()) {
    p.d = d * p.dFrac;
    p.captures = uniq(p.captures).slice(0, 5);
  }
  return out;
}

function part(m: Map<CauseId, CausePart>, cause: CauseId): CausePart {
  return getOrCreate(m, cause, () => ({ cause, d: 0, woken: 0, dFrac: 0, stacks: [], tasks: [], captures: [] }));
}

function cpuLine(v: VerdictInput, rCpu: number, r: number): VerdictLine {
  const ratio = rCpu / v.cpus;
  const rStacks = v.stacks.filter((s) => s.state === 'R' && s.cause === 'unknown');
  const woken = r - rCpu;
  return {
    kind: 'cpu-saturation',
    cause: null,
    share: rCpu,
    text:
      `${ratio >= SEVERE ? 'severe ' : ''}CPU saturation: ${fmt(rCpu)} threads running or runnable (R) on average ` +
      `for ${v.cpus} CPU${v.cpus === 1 ? '' : 's'} (${fmt(ratio)} per CPU)` +
      (woken >= 0.05 ? `; another ${fmt(woken)} R threads were just woken from a wait and are counted with it` : ''),
    evidence: {
      stacks: rStacks.slice(0, 3).map((s) => ({ frames: s.frames, count: s.count })),
      tasks: v.topR.slice(0, 5),
      captures: uniq(rStacks.flatMap((s) => s.captures)).slice(0, 5),
    },
  };
}

function waitLine(v: VerdictInput, p: CausePart, d: number, measured: boolean): VerdictLine {
  const detail = waitDetail(p.cause, p.stacks, v, p.tasks);
  const of = measured ? 'of the time blocked in D (measured)' : 'of the D tasks in captures';
  // A cause seen only in runnable threads just woken from it has no D part to speak of.
  const basis = p.dFrac > 0 ? `${Math.round(p.dFrac * 100)}% ${of}, ~${fmt(p.d)} of the ${fmt(d)} D threads on average` : `none ${of}`;
  const woken = p.woken >= 0.005 ? `, plus ~${fmt(p.woken)} R threads woken from it waiting for a CPU` : '';
  const evidence: VerdictEvidence = { stacks: p.stacks, tasks: p.tasks, captures: p.captures, ...detail.evidence };
  if (p.woken > 0) evidence.woken_r = round3(p.woken);
  return {
    kind: 'uninterruptible',
    cause: p.cause,
    share: p.d + p.woken,
    text: `uninterruptible waits (D), ${CAUSES[p.cause].label}${detail.headline}: ${basis}${woken}${detail.tail}`,
    evidence,
  };
}

function noCaptureLine(d: number): VerdictLine {
  return {
    kind: 'uninterruptible',
    cause: 'unknown',
    share: d,
    text: `uninterruptible waits: ${fmt(d)} threads in D on average; no capture in the period, so no stacks to tell why`,
    evidence: { stacks: [], tasks: [], captures: [] },
  };
}

function noOverloadLine(v: VerdictInput, r: number, d: number): VerdictLine {
  const peak = v.maxLoad1 === null ? 'no samples' : `load1 peaked at ${fmt(v.maxLoad1)}`;
  return {
    kind: 'no-overload',
    cause: null,
    share: r + d,
    text:
      `no overload: ${peak}` +
      (v.threshold !== null ? ` (threshold ${fmt(v.threshold)})` : '') +
      `; ${fmt(r)} R and ${fmt(d)} D threads on average while it was high, for ${v.cpus} CPUs`,
    evidence: { stacks: [], tasks: v.topR.slice(0, 5), captures: [] },
  };
}

function fmt(x: number): string {
  return x.toFixed(2);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function uniq(xs: number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}

function uniqTasks(ts: TaskRef[]): TaskRef[] {
  const seen = new Set<number>();
  return ts.filter((t) => {
    if (seen.has(t.tid)) return false;
    seen.add(t.tid);
    return true;
  });
}
