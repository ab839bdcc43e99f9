/**
 * The lines the native waiter (native/waiter.c, `loadmon-wait`) writes, parsed
 * exactly as it prints them (docs/trigger.md, "Protocol"). Pure: the client
 * (waiter.ts) feeds it one line at a time.
 */

import type { Pressure, PressureLine, PressureResource } from '../model/pressure.ts';

export type PsiResource = 'cpu' | 'io' | 'memory';
export type PsiKind = 'some' | 'full';

/**
 * The commands answered `ok <command>` or `err <command> <text>`: the
 * recorder's rows, and `hush` (fewer load lines while the load is low).
 */
export type PlainCommand = 'rows' | 'flush' | 'norows' | 'hush';

/**
 * One light timeline row the waiter took (`row` line): /proc/loadavg and
 * /proc/pressure/{cpu,io,memory} at one instant. A resource whose file was
 * unreadable is absent from `pressure`, as in the recorder's own samples.
 */
export interface WaiterRow {
  /** CLOCK_REALTIME ms (Date.now()'s clock) of the read. */
  timeMs: number;
  load1: number;
  load5: number;
  load15: number;
  runnable: number;
  threads: number;
  pressure: Partial<Record<PressureResource, Pressure>>;
}

export type WaiterLine =
  | { type: 'ready'; version: number }
  /** The kernel updated the load averages; tMs: CLOCK_MONOTONIC ms of the read that saw it. */
  | { type: 'load'; load1: number; load5: number; load15: number; loads: string; tMs: number }
  /** A PSI trigger's event (POLLPRI); tMs as above, when poll() returned. */
  | { type: 'psi'; id: string; tMs: number }
  | { type: 'ok'; command: 'psi' | 'unpsi'; id: string }
  /** A command refused, or `err psi <id> gone`: the trigger died (POLLERR). */
  | { type: 'err'; command: 'psi' | 'unpsi'; id: string; text: string }
  /** An error about no trigger (a line too long, an unknown command). */
  | { type: 'err'; command: null; id: null; text: string }
  | { type: 'row'; row: WaiterRow }
  /** A plain command done (`ok flush`: every row taken before it was written before it). */
  | { type: 'done'; command: PlainCommand }
  | { type: 'refused'; command: PlainCommand; text: string };

/** The protocol version this client speaks (the `ready` line's number). */
export const WAITER_PROTOCOL = 1;

/**
 * Longest line the waiter writes (a `row`: ROW_MAX_LEN in waiter.c; the
 * others are at most LINE_MAX_LEN + its margin, 320); longer is a protocol error.
 */
export const WAITER_LINE_MAX = 600;

const AVG = String.raw`(\d+\.\d\d)`;
const MS = String.raw`(\d+\.\d{3})`;
/** What waiter.c's valid_id() accepts. */
const ID = '([A-Za-z0-9_.:-]{1,32})';
const LOAD = new RegExp(`^load (${AVG} ${AVG} ${AVG}) ${MS}$`);
const PSI = new RegExp(`^psi ${ID} ${MS}$`);
const OK = new RegExp(`^ok (psi|unpsi) ${ID}$`);
const ERR_ID = new RegExp(`^err (psi|unpsi) (${ID.slice(1, -1)}|-) (.+)$`);
const PLAIN_ANSWER = /^(ok|err) (rows|flush|norows|hush)(?: (.+))?$/;
/** A PSI line's numbers as the kernel prints them (avg: "%lu.%02lu", total: "%llu"), or "-": none. */
const PSI_LINE = String.raw`-|\d+\.\d\d,\d+\.\d\d,\d+\.\d\d,\d+`;
const PSI_FIELD = `(-|(?:${PSI_LINE}):(?:${PSI_LINE}))`;
const ROW = new RegExp(String.raw`^row (\d+) ${AVG} ${AVG} ${AVG} (\d+) (\d+) ${PSI_FIELD} ${PSI_FIELD} ${PSI_FIELD}$`);
const RESOURCES: readonly PressureResource[] = ['cpu', 'io', 'memory'];

/** One line (without its newline); null when it is not one the waiter writes. */
export function parseWaiterLine(line: string): WaiterLine | null {
  let m = LOAD.exec(line);
  if (m) return { type: 'load', loads: m[1]!, load1: Number(m[2]), load5: Number(m[3]), load15: Number(m[4]), tMs: Number(m[5]) };
  m = PSI.exec(line);
  if (m) return { type: 'psi', id: m[1]!, tMs: Number(m[2]) };
  m = OK.exec(line);
  if (m) return { type: 'ok', command: m[1] as 'psi' | 'unpsi', id: m[2]! };
  m = ERR_ID.exec(line);
  if (m) return { type: 'err', command: m[1] as 'psi' | 'unpsi', id: m[2]!, text: m[3]! };
  if (line.startsWith('row ')) return parseRow(line);
  m = PLAIN_ANSWER.exec(line);
  const answer = m ? plainAnswer(m[1]!, m[2] as PlainCommand, m[3]) : null;
  if (answer) return answer;
  if (line.startsWith('err ') && line.length > 4) return { type: 'err', command: null, id: null, text: line.slice(4) };
  m = /^ready (\d+)$/.exec(line);
  if (m) return { type: 'ready', version: Number(m[1]) };
  return null;
}

function plainAnswer(word: string, command: PlainCommand, text: string | undefined): WaiterLine | null {
  if (word === 'ok') return text === undefined ? { type: 'done', command } : null;
  return text === undefined ? null : { type: 'refused', command, text };
}

/** A `row` line; null when it is not exactly what waiter.c's rows_take() writes. */
function parseRow(line: string): WaiterLine | null {
  const m = ROW.exec(line);
  if (!m) return null;
  const pressure: Partial<Record<PressureResource, Pressure>> = {};
  RESOURCES.forEach((r, i) => {
    const field = m[7 + i]!;
    if (field === '-') return;
    const [some, full] = field.split(':') as [string, string];
    pressure[r] = { some: psiLine(some), full: psiLine(full) };
  });
  const [load1, load5, load15, runnable, threads] = m.slice(2, 7).map(Number) as [number, number, number, number, number];
  return { type: 'row', row: { timeMs: Number(m[1]), load1, load5, load15, runnable, threads, pressure } };
}

function psiLine(text: string): PressureLine | null {
  if (text === '-') return null;
  const [avg10, avg60, avg300, totalUs] = text.split(',').map(Number) as [number, number, number, number];
  return { avg10, avg60, avg300, totalUs };
}

/** The `rows` command line (without its newline); throws RangeError for what the waiter would refuse. */
export function rowsCommand(periodMs: number, phaseMs: number, batch: number, flushAbove: number, spool?: string): string {
  const whole = [periodMs, phaseMs, batch].every(Number.isSafeInteger);
  if (!whole || periodMs < 100 || periodMs > 60_000 || phaseMs < 0 || phaseMs >= periodMs || batch < 1 || batch > 60) {
    throw new RangeError(`bad rows request (period ${periodMs} ms, phase ${phaseMs} ms, batch ${batch})`);
  }
  if (!Number.isFinite(flushAbove) || flushAbove < 0) throw new RangeError(`bad rows flush level ${flushAbove}`);
  if (spool !== undefined && !spoolable(spool)) throw new RangeError(`a spool path the waiter cannot take: ${JSON.stringify(spool)}`);
  return `rows ${periodMs} ${phaseMs} ${batch} ${flushAbove}${spool === undefined ? '' : ` ${spool}`}`;
}

/**
 * The `hush` command line: below load1 `below`, a load line only every
 * `everyMs` (5,000..600,000 ms); `below` 0 turns it off. Throws RangeError
 * for what the waiter would refuse.
 */
export function hushCommand(below: number, everyMs: number): string {
  const off = below === 0;
  if (!Number.isFinite(below) || below < 0 || !Number.isSafeInteger(everyMs) || (!off && (everyMs < 5_000 || everyMs > 600_000))) {
    throw new RangeError(`bad hush request (below ${below}, every ${everyMs} ms)`);
  }
  return `hush ${below} ${everyMs}`;
}

/**
 * Whether the waiter's `rows` command can carry this spool path: its words
 * are split at spaces and a line ends at a newline, so a path with white
 * space or a control character gets no spool (the recorder says so).
 */
export function spoolable(path: string): boolean {
  if (path.length === 0 || path.length >= 4000 || /\s/.test(path)) return false;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) < 0x20 || path.charCodeAt(i) === 0x7f) return false;
  return true;
}

/** A PSI trigger as the waiter's `psi` command takes it (microseconds, as the kernel does). */
export interface PsiRequest {
  id: string;
  resource: PsiResource;
  kind: PsiKind;
  stallUs: number;
  windowUs: number;
}

/** The command line for `req` (without its newline); throws RangeError for what the waiter would refuse. */
export function psiCommand(req: PsiRequest): string {
  if (!new RegExp(`^${ID}$`).test(req.id)) throw new RangeError(`bad PSI trigger id '${req.id}'`);
  for (const v of [req.stallUs, req.windowUs]) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`bad PSI duration ${v} (whole microseconds)`);
  }
  return `psi ${req.id} ${req.resource} ${req.kind} ${req.stallUs} ${req.windowUs}`;
}
