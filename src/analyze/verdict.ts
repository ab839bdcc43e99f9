/**
 * The verdict: what kind of overload the period had, with the evidence for
 * each claim. Rules (docs/verdict.md):
 *
 *  1. CPU saturation when the mean number of R threads while the load was
 *     high (the scanned samples; else the captures) is at least the CPU
 *     count; "severe" at twice it.
 *  2. Uninterruptible waits when the mean number of D threads is at least 1
 *     and at least a quarter of the load; one line per cause (causes.ts)
 *     that holds at least 10% of the measured time blocked in D (--source
 *     bpf), else of the D task observations in the captures, largest first.
 *     With neither the cause is unknown.
 *  3. Otherwise: no overload.
 *
 * Lines are ordered by their share of the load; each names its stacks,
 * tasks and capture ids.
 */

import { CAUSES, type CauseId } from './causes.ts';
import type { BlockedStack } from '../model/report.ts';
import type { StackAggregate, TaskRef } from './stacks.ts';

export interface VerdictEvidence {
  /** Normalised stacks, innermost first, with their task observations. */
  stacks: Array<{ frames: string[]; count: number }>;
  tasks: TaskRef[];
  captures: number[];
}

export interface VerdictLine {
  kind: 'cpu-saturation' | 'uninterruptible' | 'no-overload';
  cause: CauseId | null;
  /** Mean threads behind this line (its share of the load). */
  share: number;
  text: string;
  evidence: VerdictEvidence;
}

export interface VerdictInput {
  cpus: number;
  /** Mean R and D threads while the load was high; null when nothing was measured. */
  meanR: number | null;
  meanD: number | null;
  maxLoad1: number | null;
  threshold: number | null;
  /** The top R processes by contribution (for R evidence: running tasks have no stack). */
  topR: TaskRef[];
  stacks: readonly StackAggregate[];
  /** Measured time blocked in D per stack over the period (--source bpf); preferred to the captures' stacks. */
  blocked?: readonly BlockedStack[];
}

const SATURATION = 1;
const SEVERE = 2;
const MIN_D = 1;
const MIN_D_SHARE = 0.25;
const MIN_CAUSE_SHARE = 0.1;

export function decideVerdict(v: VerdictInput): VerdictLine[] {
  const lines: VerdictLine[] = [];
  const r = v.meanR ?? 0;
  const d = v.meanD ?? 0;
  if (r >= SATURATION * v.cpus) {
    const ratio = r / v.cpus;
    const rStacks = v.stacks.filter((s) => s.state === 'R');
    lines.push({
      kind: 'cpu-saturation',
      cause: null,
      share: r,
      text:
        `${ratio >= SEVERE ? 'severe ' : ''}CPU saturation: ${fmt(r)} threads running or runnable (R) on average ` +
        `for ${v.cpus} CPU${v.cpus === 1 ? '' : 's'} (${fmt(ratio)} per CPU)`,
      evidence: {
        stacks: rStacks.slice(0, 3).map((s) => ({ frames: s.frames, count: s.count })),
        tasks: v.topR.slice(0, 5),
        captures: uniq(rStacks.flatMap((s) => s.captures)).slice(0, 5),
      },
    });
  }
  const blockedTotal = (v.blocked ?? []).reduce((a, s) => a + s.blocked_s, 0);
  if (d >= MIN_D && d >= MIN_D_SHARE * (r + d) && blockedTotal > 0) {
    lines.push(...measuredCauses(v, d, blockedTotal));
  } else if (d >= MIN_D && d >= MIN_D_SHARE * (r + d)) {
    const dStacks = v.stacks.filter((s) => s.state === 'D');
    const total = dStacks.reduce((a, s) => a + s.count, 0);
    if (total === 0) {
      lines.push({
        kind: 'uninterruptible',
        cause: 'unknown',
        share: d,
        text: `uninterruptible waits: ${fmt(d)} threads in D on average; no capture in the period, so no stacks to tell why`,
        evidence: { stacks: [], tasks: [], captures: [] },
      });
    } else {
      const byCause = new Map<CauseId, StackAggregate[]>();
      for (const s of dStacks) {
        let l = byCause.get(s.cause);
        if (!l) byCause.set(s.cause, (l = []));
        l.push(s);
      }
      const causes = [...byCause.entries()]
        .map(([cause, ss]) => ({ cause, ss, n: ss.reduce((a, s) => a + s.count, 0) }))
        .filter((c) => c.n / total >= MIN_CAUSE_SHARE)
        .sort((a, b) => b.n - a.n);
      for (const c of causes) {
        const frac = c.n / total;
        lines.push({
          kind: 'uninterruptible',
          cause: c.cause,
          share: d * frac,
          text:
            `uninterruptible waits (D), ${CAUSES[c.cause].label}: ${Math.round(frac * 100)}% of the D tasks in captures` +
            ` (${c.n} of ${total}), ~${fmt(d * frac)} of the ${fmt(d)} D threads on average`,
          evidence: {
            stacks: c.ss.slice(0, 3).map((s) => ({ frames: s.frames, count: s.count })),
            tasks: uniqTasks(c.ss.flatMap((s) => s.tasks)).slice(0, 5),
            captures: uniq(c.ss.flatMap((s) => s.captures)).slice(0, 5),
          },
        });
      }
    }
  }
  if (lines.length === 0) {
    const peak = v.maxLoad1 === null ? 'no samples' : `load1 peaked at ${fmt(v.maxLoad1)}`;
    lines.push({
      kind: 'no-overload',
      cause: null,
      share: r + d,
      text:
        `no overload: ${peak}` +
        (v.threshold !== null ? ` (threshold ${fmt(v.threshold)})` : '') +
        `; ${fmt(r)} R and ${fmt(d)} D threads on average while it was high, for ${v.cpus} CPUs`,
      evidence: { stacks: [], tasks: v.topR.slice(0, 5), captures: [] },
    });
  }
  return lines.sort((a, b) => b.share - a.share);
}

/** Rule 2 from the measured time blocked per stack: one line per cause with at least 10% of it. */
function measuredCauses(v: VerdictInput, d: number, total: number): VerdictLine[] {
  const byCause = new Map<CauseId, BlockedStack[]>();
  for (const s of v.blocked ?? []) {
    let l = byCause.get(s.cause);
    if (!l) byCause.set(s.cause, (l = []));
    l.push(s);
  }
  const dCaptures = v.stacks.filter((s) => s.state === 'D');
  return [...byCause.entries()]
    .map(([cause, ss]) => ({ cause, ss, t: ss.reduce((a, s) => a + s.blocked_s, 0) }))
    .filter((c) => c.t / total >= MIN_CAUSE_SHARE)
    .sort((a, b) => b.t - a.t)
    .map((c) => {
      const frac = c.t / total;
      return {
        kind: 'uninterruptible' as const,
        cause: c.cause,
        share: d * frac,
        text:
          `uninterruptible waits (D), ${CAUSES[c.cause].label}: ${Math.round(frac * 100)}% of the time blocked in D (measured),` +
          ` ~${fmt(d * frac)} of the ${fmt(d)} D threads on average`,
        evidence: {
          stacks: c.ss.slice(0, 3).map((s) => ({ frames: s.frames, count: s.intervals })),
          tasks: uniqTasks(c.ss.flatMap((s) => s.processes.map((p) => ({ pid: p.pid, tid: p.pid, comm: p.comm, cgroup: null })))).slice(0, 5),
          captures: uniq(dCaptures.filter((s) => s.cause === c.cause).flatMap((s) => s.captures)).slice(0, 5),
        },
      };
    });
}

function fmt(x: number): string {
  return x.toFixed(2);
}

function uniq(xs: number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}

function uniqTasks(ts: TaskRef[]): TaskRef[] {
  const seen = new Set<number>();
  return ts.filter((t) => (seen.has(t.tid) ? false : (seen.add(t.tid), true)));
}
