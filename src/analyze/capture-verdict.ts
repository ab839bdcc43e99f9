/**
 * One capture's verdict, decided on that capture alone: its R and D counts
 * and stacks, the evidence of the seconds before it and (bpf) the last
 * minute's wait-for chains. The dashboard's capture view and the text of a
 * watch/record capture show it.
 */

import type { Snapshot } from '../model/snapshot.ts';
import { captureEvidence } from './evidence.ts';
import { limitRelabel } from './limits.ts';
import { aggregateStacks } from './stacks.ts';
import { decideVerdict, type VerdictLine } from './verdict.ts';

export function captureVerdict(id: number, snap: Snapshot): VerdictLine[] {
  let r = 0;
  let d = 0;
  for (const t of snap.tasks) t.state === 'R' ? r++ : d++;
  const seen = new Set<number>();
  const topR = snap.tasks
    .filter((t) => t.state === 'R' && !seen.has(t.pid) && seen.add(t.pid))
    .map((t) => ({ pid: t.pid, tid: t.tid, comm: t.comm, cgroup: t.cgroup }));
  // The capture's own evidence (watch/record): the seconds before it, and the last minute's chains (bpf).
  const evidence = captureEvidence(snap);
  return decideVerdict({
    cpus: snap.cpus,
    meanR: r,
    meanD: d,
    maxLoad1: snap.loadavg.load1,
    threshold: snap.trigger?.threshold ?? null,
    topR,
    stacks: aggregateStacks([{ id, snapshot: snap }], limitRelabel(evidence)),
    evidence,
    chains: snap.blocked_recent?.chains ?? [],
  });
}
