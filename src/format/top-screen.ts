/**
 * The screen of `loadmon top`: a pure function of the model, the terminal's
 * size, the selected row and the grouping's rows, returning the lines to
 * draw. Every line fits the width (cut, never wrapped: a wrapped line would
 * scroll the screen); every name is escaped (a comm or cgroup cannot move the
 * cursor); colour (SGR attributes) only when asked, so NO_COLOR and a pipe
 * get plain text with the selection marked by `>`.
 */

import type { Relabel } from '../analyze/limits.ts';
import { taskStack } from '../analyze/stacks.ts';
import type { TopModel, TopRow } from '../analyze/top-rows.ts';
import type { Pressure, PressureResource } from '../model/pressure.ts';
import { formatDuration } from '../model/time.ts';
import { escapeText } from './escape.ts';
import { blockedMs, perCpu } from './units.ts';

export interface TopScreenOptions {
  width: number;
  /** Lines available; null: every row (the one table printed when stdout is not a terminal). */
  height: number | null;
  /** Index into model.rows, null: no selection. */
  selected: number | null;
  color: boolean;
  /** The key line at the bottom (interactive mode). */
  keys: boolean;
  paused?: boolean;
  /** A short note for the first line (a capture just kept, a refresh that failed). */
  status?: string;
}

const SGR = { bold: '\x1b[1m', reverse: '\x1b[7m', reset: '\x1b[0m' };
const KEYS = 'q quit  up/down j/k move  Enter open  g group  s capture  p pause';
const DETAIL_KEYS = 'q quit  Esc/Backspace back  up/down j/k scroll  s capture  p pause';
/** Below this width the per-CPU loads, bars and trigger line are shortened. */
const NARROW = 60;

export function renderTopScreen(model: TopModel, opts: TopScreenOptions): string[] {
  const width = Math.max(1, opts.width);
  const header = headerLines(model, width, opts.paused === true, opts.status);
  const table = tableHeader(model);
  const bottom = opts.keys ? [KEYS] : [];
  const room = opts.height === null ? model.rows.length : Math.max(0, opts.height - header.length - 1 - bottom.length);
  const first = firstVisible(opts.selected, room, model.rows.length);
  const rows = model.rows.slice(first, first + room).map((r, i) => rowLine(model, r, first + i === opts.selected));
  const lines = [...header, table, ...rows];
  if (opts.height !== null) while (lines.length < opts.height - bottom.length) lines.push('');
  const cut = [...lines, ...bottom].map((l) => fit(l, width));
  return opts.color ? paint(cut, header.length, first, opts.selected, rows.length) : cut;
}

/** Scroll so that the selected row stays on screen. */
function firstVisible(selected: number | null, room: number, total: number): number {
  if (selected === null || room <= 0 || selected < room) return 0;
  return Math.min(selected - room + 1, Math.max(0, total - room));
}

function headerLines(m: TopModel, width: number, paused: boolean, status = ''): string[] {
  const narrow = width < NARROW;
  const la = m.loadavg;
  const loads = `load ${la.load1.toFixed(2)} ${la.load5.toFixed(2)} ${la.load15.toFixed(2)}`;
  const cpu = narrow
    ? `  /cpu ${perCpu(la.load1, m.cpus)}`
    : `  per cpu ${perCpu(la.load1, m.cpus)} ${perCpu(la.load5, m.cpus)} ${perCpu(la.load15, m.cpus)}  (${m.cpus} cpus)`;
  const note = `${paused ? '  PAUSED' : ''}${status ? `  ${escapeText(status)}` : ''}`;
  return [
    `loadmon top  ${escapeText(m.host)}  ${m.time.slice(11, 19)}Z  ${m.source}  by ${m.grouping}${note}`,
    loads + cpu,
    psiLine(m.pressure, narrow ? 5 : 10),
    `tasks ${m.r} R  ${m.d} D  of ${m.threads_scanned} threads`,
    triggerLine(m, narrow),
  ];
}

const PSI_NAMES: Record<PressureResource, string> = { cpu: 'cpu', io: 'io', memory: 'mem' };

/** PSI "some" avg10 as a bar per resource: the share of the last 10 s in which some task stalled on it. */
function psiLine(p: Partial<Record<PressureResource, Pressure>>, bar: number): string {
  const parts = (Object.keys(PSI_NAMES) as PressureResource[]).map((r) => {
    const some = p[r]?.some;
    if (!some) return `${PSI_NAMES[r]} n/a`;
    const filled = Math.min(bar, Math.round((some.avg10 / 100) * bar));
    return `${PSI_NAMES[r]} [${'#'.repeat(filled)}${'.'.repeat(bar - filled)}] ${some.avg10.toFixed(1)}%`;
  });
  return `psi ${parts.join('  ')}`;
}

function triggerLine(m: TopModel, narrow: boolean): string {
  const t = m.trigger;
  const last = t.last_capture === null ? 'none' : `${t.last_capture.slice(11, 19)}Z`;
  // No threshold: captures are taken with `s` only, and a cooldown means nothing.
  if (t.threshold === null) return `trigger none  captures ${t.captures}  last ${last}`;
  if (narrow) return `trigger ${t.threshold.toFixed(2)}  captures ${t.captures}`;
  const cooldown = formatDuration(t.cooldown_ms);
  return `trigger threshold ${t.threshold.toFixed(2)}  cooldown left ${cooldown}  captures ${t.captures}  last ${last}`;
}

function hasBlocked(m: TopModel): boolean {
  return m.blocked_window_ms !== null;
}

function tableHeader(m: TopModel): string {
  const blocked = hasBlocked(m) ? `${'BLOCKED'.padStart(8)} ` : '';
  const pid = m.grouping === 'process' ? `${'PID'.padStart(7)} ` : '';
  return `  ${'SHARE'.padStart(6)} ${'R'.padStart(4)} ${'D'.padStart(4)} ${blocked}${'CAUSE'.padEnd(8)} ${pid}${m.grouping.toUpperCase()}`;
}

function rowLine(m: TopModel, r: TopRow, selected: boolean): string {
  const share = `${(r.share * 100).toFixed(1)}%`.padStart(6);
  const blocked = hasBlocked(m) ? `${blockedText(r.blocked_ms).padStart(8)} ` : '';
  const pid = m.grouping === 'process' ? `${String(r.pid ?? '').padStart(7)} ` : '';
  const cause = (r.cause ?? '-').padEnd(8);
  const counts = `${String(r.r).padStart(4)} ${String(r.d).padStart(4)}`;
  return `${selected ? '>' : ' '} ${share} ${counts} ${blocked}${cause} ${pid}${escapeText(r.label)}`;
}

function blockedText(ms: number | null): string {
  return ms === null ? '-' : blockedMs(ms);
}

/** Cut to the width by code points (escaped text has no controls left to count). */
function fit(line: string, width: number): string {
  const cps = Array.from(line);
  return cps.length <= width ? line : cps.slice(0, width).join('');
}

/** Bold header of the table, the selected row in reverse video. */
function paint(lines: string[], tableAt: number, first: number, selected: number | null, shown: number): string[] {
  const out = [...lines];
  out[tableAt] = `${SGR.bold}${out[tableAt]}${SGR.reset}`;
  if (selected !== null && selected >= first && selected < first + shown) {
    const at = tableAt + 1 + selected - first;
    out[at] = `${SGR.reverse}${out[at]}${SGR.reset}`;
  }
  return out;
}

export interface TopDetailOptions {
  width: number;
  height: number;
  /** First body line shown (scrolling); clamped to the body. */
  offset: number;
  color: boolean;
  paused?: boolean;
  status?: string;
}

/**
 * The opened row (Enter): its threads, each with its state, cause and
 * kernel stack as captured (symbol+offset, never an address), and the user
 * stack of R threads where the bpf snapshot has one. `row` null: the row has
 * no R/D thread any more at this refresh.
 */
export function renderTopDetail(model: TopModel, row: TopRow | null, title: string, opts: TopDetailOptions): string[] {
  const width = Math.max(1, opts.width);
  const header = headerLines(model, width, opts.paused === true, opts.status).slice(0, 2);
  const body = row ? detailBody(row, model.relabel) : ['  (no R or D thread now)'];
  const room = Math.max(0, opts.height - header.length - 2);
  const offset = Math.max(0, Math.min(opts.offset, body.length - room));
  const lines = [...header, `${escapeText(title)}  ${row ? `${row.r} R  ${row.d} D` : ''}`, ...body.slice(offset, offset + room)];
  while (lines.length < opts.height - 1) lines.push('');
  const cut = [...lines, DETAIL_KEYS].map((l) => fit(l, width));
  if (opts.color) cut[header.length] = `${SGR.bold}${cut[header.length]}${SGR.reset}`;
  return cut;
}

/** Each thread's cause by the one rule the rows use (taskStack with the capture's relabel). */
function detailBody(row: TopRow, relabel: Relabel | null): string[] {
  const out: string[] = [];
  const tasks = [...row.tasks].sort((a, b) => (a.state === b.state ? a.tid - b.tid : a.state === 'D' ? -1 : 1));
  for (const t of tasks) {
    const cause = t.state === 'D' ? taskStack(t, relabel).cause : '-';
    out.push(`tid ${t.tid}  ${t.state}  ${cause}  pid ${t.pid} ${escapeText(t.comm)}`);
    if (t.stack.length === 0) out.push('    (no kernel stack)');
    for (const f of t.stack) out.push(`    ${escapeText(f)}`);
    if (t.user_stack?.length) out.push(`    user: ${t.user_stack.map(escapeText).join(' <- ')}`);
  }
  return out;
}

/** Before the first capture (or when it failed): the reason and the key line, nothing else. */
export function renderTopWaiting(status: string, size: { width: number; height: number }): string[] {
  const lines = [`loadmon top  ${status ? escapeText(status) : 'capturing…'}`];
  while (lines.length < size.height - 1) lines.push('');
  return [...lines, 'q quit'].map((l) => fit(l, Math.max(1, size.width)));
}
