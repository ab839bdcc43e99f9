/**
 * What a report said, in a few lines per source: the first two verdict lines
 * (kind, cause, share, text) with their evidence (lock chain, devices,
 * cgroups), and the load1 replay. This is what tells the people improving
 * the verdict what still goes wrong, so it prints what is there, not only
 * pass/fail.
 */

import type { VerdictLine } from '../../src/analyze/verdict.ts';
import type { CgroupLimitEvidence, ChainLink, DeviceEvidence } from '../../src/model/evidence.ts';
import type { Report } from '../../src/model/report.ts';

/** The evidence fields of the report contract (issue 10), optional: older reports lack them. */
export interface ContractEvidence {
  chain?: ChainLink[];
  devices?: DeviceEvidence[];
  cgroups?: CgroupLimitEvidence[];
}

export function evidenceOf(line: VerdictLine | undefined): ContractEvidence {
  return (line?.evidence ?? {}) as ContractEvidence;
}

const n2 = (x: number | null | undefined): string => (typeof x === 'number' ? x.toFixed(2) : '-');

function chainLines(chain: ChainLink[]): string[] {
  return chain.slice(0, 2).map((c) => {
    const h = c.holder;
    const holder = h
      ? `holder pid ${h.pid} tid ${h.tid} ${h.comm} ${h.state ?? '?'} [${h.stack.slice(0, 3).join(' < ')}]`
      : 'holder unknown';
    return (
      `      chain: ${c.lock.kind} ${c.lock.name ?? '(unnamed)'}, ${n2(c.waiters)} waiting (${c.waiter_threads} ` +
      `threads), ${holder}${c.holder_cause ? `, holder cause ${c.holder_cause}` : ''}`
    );
  });
}

function deviceLines(devs: DeviceEvidence[]): string[] {
  return devs
    .slice(0, 2)
    .map(
      (d) =>
        `      device: ${d.name} util ${n2(d.util)} await ${n2(d.await_ms)} ms in_flight ${d.in_flight} w/s ${n2(d.writes_s)} ` +
        `r/s ${n2(d.reads_s)}`,
    );
}

function cgroupLines(cgs: CgroupLimitEvidence[]): string[] {
  // The contract requires path, limit and detail; the rest is printed when the verdict carries it.
  const extra = (c: Partial<CgroupLimitEvidence>): string => {
    const parts = [c.hierarchy, c.at_limit === undefined ? undefined : c.at_limit ? 'at limit' : 'below limit'].filter(Boolean);
    return parts.length ? ` (${parts.join(', ')})` : '';
  };
  return cgs.slice(0, 2).map((c) => `      cgroup: ${c.path} limit ${c.limit}${extra(c)}: ${c.detail}`);
}

export function verdictLines(r: Report): string[] {
  const out: string[] = [];
  r.verdict.slice(0, 2).forEach((l, i) => {
    out.push(`    #${i + 1} ${l.kind} cause=${l.cause ?? 'null'} share=${n2(l.share)}: ${l.text}`);
    const e = evidenceOf(l);
    out.push(...chainLines(e.chain ?? []), ...deviceLines(e.devices ?? []), ...cgroupLines(e.cgroups ?? []));
  });
  if (r.verdict.length === 0) out.push('    (no verdict line)');
  return out;
}

/** A few lines about one source's report (or its failure). */
export function describe(source: string, outcome: Report | Error): string[] {
  if (outcome instanceof Error) return [`  ${source}: FAILED: ${outcome.message}`];
  const a = outcome.attribution.at_end;
  const load = outcome.load;
  const head =
    `  ${source}: load1 max ${n2(load?.max)}, mean R ${n2(load?.mean_r)} D ${n2(load?.mean_d)}, ` +
    `${outcome.captures.length} captures; ` +
    `replay load1 ${a ? `${n2(a.model_load1)} vs kernel ${n2(a.kernel_load1)}` : 'none'}; ${split(outcome)}`;
  return [head, ...verdictLines(outcome)];
}

/** The mean load split between the scenario's tasks (comm scen-*) and everything else on the machine. */
export function split(r: Report): string {
  const procs = r.attribution.mean?.processes ?? [];
  const ours = procs.filter((p) => p.comm?.startsWith(WORKLOAD_COMM_PREFIX));
  const others = procs.filter((p) => !p.comm?.startsWith(WORKLOAD_COMM_PREFIX));
  const sum = (xs: typeof procs, k: 'r' | 'd'): string => n2(xs.reduce((acc, p) => acc + p[k], 0));
  return `mean load: scenario R ${sum(ours, 'r')} D ${sum(ours, 'd')}, others R ${sum(others, 'r')} D ${sum(others, 'd')}`;
}

/** scenload names its tasks scen-<mode>. */
export const WORKLOAD_COMM_PREFIX = 'scen-';
