/**
 * Evidence beyond stacks for people: the devices, memory stalls, cgroup
 * limits and lock holders behind a verdict line or a capture, one indented
 * line each. Device names, cgroup paths, comms and frames are escaped
 * (escape.ts) like every human format's; chainText() escapes its own names.
 */

import type { VerdictEvidence } from '../analyze/verdict.ts';
import { chainText } from '../analyze/verdict-text.ts';
import type { ChainLink, DeviceEvidence, Evidence } from '../model/evidence.ts';
import { escapeText } from './escape.ts';

/** Under a report's verdict line. */
export function verdictEvidence(e: VerdictEvidence, indent = '     '): string[] {
  const out: string[] = [];
  for (const d of e.devices ?? []) out.push(`${indent}device ${deviceLine(d)}`);
  for (const c of e.cgroups ?? []) out.push(`${indent}cgroup ${escapeText(c.path)} (${c.limit} limit): ${escapeText(c.detail)}`);
  for (const c of e.chain ?? []) out.push(...chainLines(c, indent));
  return out;
}

/** A wait-for chain link, and the holder's stack on the next line. */
export function chainLines(c: ChainLink, indent: string): string[] {
  const out = [`${indent}lock: ${chainText(c)}`];
  if (c.holder && c.holder.stack.length > 0)
    out.push(
      `${indent}  holder's stack: ${c.holder.stack
        .slice(0, 8)
        .map((f) => escapeText(functionName(f)))
        .join(' <- ')}`,
    );
  return out;
}

/** A capture's evidence over the seconds before it. */
export function captureEvidence(ev: Evidence): string[] {
  const out: string[] = [];
  const secs = (ev.window_ms / 1000).toFixed(1);
  for (const d of ev.devices.slice(0, 4)) out.push(`  device ${deviceLine(d)}`);
  const m = ev.memory;
  if (m && m.direct_reclaim_s + m.compact_stall_s + m.refaults_s + m.swap_in_s > 0) {
    out.push(
      `  memory: direct reclaim ${m.direct_reclaim_s.toFixed(1)}/s, compaction stalls ${m.compact_stall_s.toFixed(1)}/s,` +
        ` refaults ${m.refaults_s.toFixed(1)}/s, swap-ins ${m.swap_in_s.toFixed(1)}/s, major faults ${m.major_faults_s.toFixed(1)}/s`,
    );
  }
  for (const c of ev.cgroups)
    out.push(`  cgroup ${escapeText(c.path)} (${c.limit} limit${c.at_limit ? ', at it' : ''}): ${escapeText(c.detail)}`);
  return out.length > 0 ? ['', `evidence over the ${secs} s before the capture:`, ...out] : [];
}

function deviceLine(d: Pick<DeviceEvidence, 'name' | 'util' | 'await_ms' | 'in_flight'> & Partial<DeviceEvidence>): string {
  const rate =
    d.reads_s !== undefined && d.writes_s !== undefined ? `, ${d.reads_s.toFixed(0)} reads/s, ${d.writes_s.toFixed(0)} writes/s` : '';
  const wait = d.await_ms === null ? '' : `, ${d.await_ms.toFixed(2)} ms per request`;
  return `${escapeText(d.name)}: ${Math.round(d.util * 100)}% busy${rate}${wait}, ${d.in_flight} in flight`;
}

function functionName(frame: string): string {
  const plus = frame.indexOf('+');
  return plus > 0 ? frame.slice(0, plus) : frame;
}
