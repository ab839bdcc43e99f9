/**
 * What a verdict line says beyond its cause: the evidence that shows why the
 * wait was long — the device behind block I/O, the cgroup limit that held
 * the tasks back, the memory manager's stalls, the lock's holder and what
 * the holder itself waits for. Each cause cites what bears on it; a line
 * without such evidence says what the stack alone lets us infer.
 *
 * The sentences go to terminals, the dashboard and the report's JSON as they
 * are, so every name in them (device, cgroup path, lock, frame, comm) is
 * escaped here, once (format/escape.ts); the evidence keeps the real values.
 */

import { escapeText } from '../format/escape.ts';
import type { ChainLink } from '../model/evidence.ts';
import type { VerdictEvidence, VerdictInput } from '../model/report.ts';
import { isSchedFrame } from '../procfs/stack.ts';
import { type CauseId, classifyStack } from './causes.ts';
import type { PeriodCgroupLimit } from './evidence.ts';
import type { TaskRef } from './stacks.ts';

export interface WaitDetail {
  /** Goes right after the cause's label: " on vda", " (io limit of /batch)". */
  headline: string;
  /** Goes at the end of the line: "; vda 98% busy, 1.2 ms per request, 4 in flight". */
  tail: string;
  evidence: Pick<VerdictEvidence, 'chain' | 'devices' | 'cgroups'>;
}

/** Devices cited as busy enough to matter for an I/O cause. */
const BUSY = 0.05;

export function waitDetail(
  cause: CauseId,
  stacks: ReadonlyArray<{ frames: string[] }>,
  v: VerdictInput,
  tasks: readonly TaskRef[],
): WaitDetail {
  switch (cause) {
    case 'block-io':
    case 'journal':
      return ioDetail(stacks, v);
    case 'lock':
      return lockDetail(stacks, v.chains ?? []);
    case 'cgroup':
      return cgroupDetail(stacks, v, tasks);
    case 'memory':
      return memoryDetail(stacks, v, tasks);
    default:
      return { headline: '', tail: inferred(stacks), evidence: {} };
  }
}

function ioDetail(stacks: ReadonlyArray<{ frames: string[] }>, v: VerdictInput): WaitDetail {
  const devices = (v.evidence?.devices ?? []).filter((d) => d.util >= BUSY || d.in_flight > 0).slice(0, 2);
  const psi = v.pressure?.io_full;
  const psiText = psi !== null && psi !== undefined && psi > 0 ? `, PSI io full peaked at ${psi.toFixed(0)}%` : '';
  if (devices.length === 0) return { headline: '', tail: inferred(stacks) + psiText, evidence: {} };
  return {
    headline: ` on ${devices.map((d) => escapeText(d.name)).join(', ')}`,
    tail: `; ${devices.map(deviceText).join('; ')}${psiText}`,
    evidence: { devices: devices.map(deviceRef) },
  };
}

function lockDetail(stacks: ReadonlyArray<{ frames: string[] }>, chains: readonly ChainLink[]): WaitDetail {
  const top = chains.filter((c) => c.waiters > 0).slice(0, 3);
  if (top.length === 0) return { headline: '', tail: inferred(stacks), evidence: {} };
  return { headline: '', tail: `; ${chainText(top[0]!)}`, evidence: { chain: top } };
}

export function chainText(c: ChainLink): string {
  const who = c.waiter_processes.length === 1 ? ` of ${escapeText(c.waiter_processes[0]!.comm)}` : '';
  const lock = escapeText(c.lock.name ?? `a ${c.lock.kind}`);
  const waiters = `${c.waiters.toFixed(2)} threads${who} (${c.waiter_threads} seen) wait for ${lock}`;
  if (!c.holder) return `${waiters}, held by readers or with no recorded owner`;
  const h = c.holder;
  // The innermost frame the kernel would show: the wait's site, not the scheduler's.
  const site = h.stack.find((f) => !isSchedFrame(f)) ?? h.stack[0];
  const where = site ? ` in ${escapeText(site)}` : '';
  const state = h.state === null ? (site ? `, itself blocked${where}` : '') : `, itself ${stateText(h.state)}${where}`;
  const why = c.holder_cause ? ` (${escapeText(c.holder_cause)})` : '';
  const others = c.other_holders > 0 ? `; ${c.other_holders} other thread${c.other_holders === 1 ? '' : 's'} held it in turn` : '';
  return `${waiters}, held by tid ${h.tid} (${escapeText(h.comm)})${state}${why}${others}`;
}

function stateText(state: string): string {
  return state === 'D' ? 'in D' : state === 'R' ? 'running (R)' : `in state ${escapeText(state)}`;
}

function cgroupDetail(stacks: ReadonlyArray<{ frames: string[] }>, v: VerdictInput, tasks: readonly TaskRef[]): WaitDetail {
  const limits = limitsOf(v, tasks, ['memory', 'io']);
  if (limits.length === 0) return { headline: '', tail: inferred(stacks), evidence: {} };
  const first = limits[0]!;
  const io = limits.some((l) => l.limit === 'io');
  const devices = io ? (v.evidence?.devices ?? []).filter((d) => limits.some((l) => l.dev === d.dev)).slice(0, 1) : [];
  const idle = devices.length > 0 && devices[0]!.util < 0.5 ? `; the device itself is not the bottleneck: ${deviceText(devices[0]!)}` : '';
  return {
    headline: ` (${first.limit} limit of ${escapeText(first.path)})`,
    tail: `; ${limits.map(limitText).join('; ')}${idle}`,
    evidence: { cgroups: limits.map(cgroupRef), ...(devices.length > 0 ? { devices: devices.map(deviceRef) } : {}) },
  };
}

function memoryDetail(stacks: ReadonlyArray<{ frames: string[] }>, v: VerdictInput, tasks: readonly TaskRef[]): WaitDetail {
  const m = v.evidence?.memory;
  const parts: string[] = [];
  if (m) {
    if (m.direct_reclaim_s > 0) parts.push(`direct reclaim ${rate(m.direct_reclaim_s)}/s`);
    if (m.compact_stall_s > 0) parts.push(`compaction stalls ${rate(m.compact_stall_s)}/s`);
    if (m.refaults_s > 0) parts.push(`page-cache refaults ${rate(m.refaults_s)}/s`);
    if (m.major_faults_s > 0) parts.push(`major faults ${rate(m.major_faults_s)}/s`);
    if (m.swap_in_s > 0) parts.push(`swap-ins ${rate(m.swap_in_s)}/s`);
  }
  const psi = v.pressure?.memory_full;
  if (psi !== null && psi !== undefined && psi > 0) parts.push(`PSI memory full peaked at ${psi.toFixed(0)}%`);
  const limits = limitsOf(v, tasks, ['memory']);
  const tail = parts.length > 0 ? `; ${parts.join(', ')}` : inferred(stacks);
  return {
    headline: '',
    tail: tail + limits.map((l) => `; ${limitText(l)}`).join(''),
    evidence: limits.length > 0 ? { cgroups: limits.map(cgroupRef) } : {},
  };
}

/** Limits that bit, of the cgroups the line's processes are in (any that bit when none is known to hold them). */
function limitsOf(v: VerdictInput, tasks: readonly TaskRef[], kinds: ReadonlyArray<'memory' | 'io'>): PeriodCgroupLimit[] {
  const bit = (v.evidence?.cgroups ?? []).filter((c) => c.at_limit && (kinds as readonly string[]).includes(c.limit));
  const pids = new Set(tasks.map((t) => t.pid));
  const theirs = bit.filter((c) => c.pids.some((p) => pids.has(p)));
  return (theirs.length > 0 ? theirs : bit).slice(0, 3);
}

/** What the innermost visible frames let us infer, when nothing measured says more. */
function inferred(stacks: ReadonlyArray<{ frames: string[] }>): string {
  const top = stacks[0];
  if (!top || top.frames.length === 0) return '';
  const c = classifyStack(top.frames);
  if (!c.waits_for || !c.frame) return '';
  return `; waiting for ${c.waits_for} (${c.inferred ? 'inferred from' : 'seen in'} ${escapeText(c.frame)})`;
}

function deviceText(d: { name: string; util: number; await_ms: number | null; in_flight: number }): string {
  const wait = d.await_ms === null ? '' : `, ${d.await_ms.toFixed(d.await_ms < 10 ? 2 : 0)} ms per request`;
  return `${escapeText(d.name)} ${Math.round(d.util * 100)}% busy${wait}, ${d.in_flight} in flight`;
}

function limitText(l: PeriodCgroupLimit): string {
  return `${escapeText(l.path)}: ${escapeText(l.detail)}`;
}

function deviceRef<T extends { name: string; util: number; await_ms: number | null; in_flight: number }>(d: T): T {
  return { ...d, util: Math.round(d.util * 1000) / 1000, await_ms: d.await_ms === null ? null : Math.round(d.await_ms * 1000) / 1000 };
}

function cgroupRef(c: PeriodCgroupLimit): { path: string; limit: 'memory' | 'io' | 'cpu'; detail: string } {
  return { path: c.path, limit: c.limit, detail: c.detail };
}

function rate(x: number): string {
  return x >= 100 ? Math.round(x).toString() : x.toFixed(1);
}
