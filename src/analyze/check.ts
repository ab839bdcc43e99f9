/**
 * `loadmon check`'s answer, as a monitoring plugin gives it
 * (https://www.monitoring-plugins.org/doc/guidelines.html): an exit status
 * (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) and one line,
 *
 *   LOADMON CRITICAL - load1 6.20 (3.10/cpu): D 5.0 block I/O (dd 4242), R 1.2 CPU | load1=6.20;2;4;0 …
 *
 * whose text part names what the load is made of (the verdict's lines,
 * largest first) and whose perfdata part, after the one `|`, is
 * `label=value;warn;crit;min;max` for each figure. The status is decided on
 * load1 alone, as check_load does: warning and critical are the upper ends
 * of the guidelines' default range (0..N: alert when load1 > N).
 *
 * Names in the text (comms) come from tasks: they are escaped, and a `|`
 * in one would end the text part early, so it is written \x7c.
 */

import { escapeText } from '../format/escape.ts';
import type { VerdictLine } from '../model/report.ts';
import { CAUSES } from './causes.ts';

export const CHECK_STATUS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type CheckStatusName = keyof typeof CHECK_STATUS;

/** The figures a check is decided and reported on. */
export interface CheckInput {
  load1: number;
  load5: number;
  load15: number;
  cpus: number;
  /** R and D threads now (live) or in the newest sample (--db); null when not measured. */
  r: number | null;
  d: number | null;
  verdict: readonly VerdictLine[];
  /** Absolute load1 thresholds (the /cpu form already multiplied out). */
  warning: number;
  critical: number;
}

export interface CheckResult {
  status: CheckStatusName;
  exitCode: number;
  line: string;
}

/** Verdict lines quoted at most: the line must fit a monitoring system's output field (NRPE: 1 KiB by default). */
const MAX_PARTS = 3;

export function decideStatus(load1: number, warning: number, critical: number): CheckStatusName {
  if (load1 > critical) return 'CRITICAL';
  if (load1 > warning) return 'WARNING';
  return 'OK';
}

export function checkResult(c: CheckInput): CheckResult {
  const status = decideStatus(c.load1, c.warning, c.critical);
  const perCpu = c.cpus > 0 ? ` (${f2(c.load1 / c.cpus)}/cpu)` : '';
  const text = `load1 ${f2(c.load1)}${perCpu}: ${verdictSummary(c.verdict)}`;
  return { status, exitCode: CHECK_STATUS[status], line: `LOADMON ${status} - ${safeText(text)} | ${perfdata(c)}` };
}

/** The UNKNOWN answer: a bad option, a missing store, a timeout. The message is loadmon's usual one. */
export function unknownResult(message: string): CheckResult {
  return { status: 'UNKNOWN', exitCode: CHECK_STATUS.UNKNOWN, line: `LOADMON UNKNOWN - ${safeText(message)}` };
}

/** "D 5.0 block I/O (dd 4242), R 1.2 CPU (stress 77)": each verdict line's share, cause and first task. */
export function verdictSummary(verdict: readonly VerdictLine[]): string {
  const parts = verdict.slice(0, MAX_PARTS).map(partText);
  if (verdict.length > MAX_PARTS) parts.push(`${verdict.length - MAX_PARTS} more`);
  return parts.length > 0 ? parts.join(', ') : 'no verdict';
}

function partText(v: VerdictLine): string {
  const t = v.evidence.tasks[0];
  // Escaped once, with the whole line (safeText).
  const who = t ? ` (${t.comm} ${t.pid})` : '';
  switch (v.kind) {
    case 'cpu-saturation':
      return `R ${f1(v.share)} CPU${who}`;
    case 'uninterruptible':
      return `D ${f1(v.share)} ${CAUSES[v.cause ?? 'unknown'].short}${who}`;
    default:
      return `no overload (R+D ${f1(v.share)})`;
  }
}

/** load1 carries the thresholds; every figure has min 0 (loads and thread counts cannot be negative). */
export function perfdata(c: CheckInput): string {
  const items = [`load1=${f2(c.load1)};${num(c.warning)};${num(c.critical)};0`, `load5=${f2(c.load5)};;;0`, `load15=${f2(c.load15)};;;0`];
  if (c.r !== null) items.push(`r=${num(c.r)};;;0`);
  if (c.d !== null) items.push(`d=${num(c.d)};;;0`);
  return items.join(' ');
}

/** One line, no perfdata separator: escaped names may still hold `|` (printable), and messages may hold newlines. */
function safeText(s: string): string {
  return escapeText(s).replaceAll('|', '\\x7c');
}

function f1(x: number): string {
  return x.toFixed(1);
}

function f2(x: number): string {
  return x.toFixed(2);
}

/** Plain decimal, no exponent, at most 2 decimals (the guidelines allow [-0-9.] only). */
function num(x: number): string {
  return String(Math.round(x * 100) / 100);
}
