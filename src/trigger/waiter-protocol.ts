/**
 * The lines the native waiter (native/waiter.c, `loadmon-wait`) writes, parsed
 * exactly as it prints them (docs/trigger.md, "Protocol"). Pure: the client
 * (waiter.ts) feeds it one line at a time.
 */

export type PsiResource = 'cpu' | 'io' | 'memory';
export type PsiKind = 'some' | 'full';

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
  | { type: 'err'; command: null; id: null; text: string };

/** The protocol version this client speaks (the `ready` line's number). */
export const WAITER_PROTOCOL = 1;

/** Longest line the waiter writes (LINE_MAX_LEN + its margin in waiter.c); longer is a protocol error. */
export const WAITER_LINE_MAX = 320;

const AVG = String.raw`(\d+\.\d\d)`;
const MS = String.raw`(\d+\.\d{3})`;
/** What waiter.c's valid_id() accepts. */
const ID = '([A-Za-z0-9_.:-]{1,32})';
const LOAD = new RegExp(`^load (${AVG} ${AVG} ${AVG}) ${MS}$`);
const PSI = new RegExp(`^psi ${ID} ${MS}$`);
const OK = new RegExp(`^ok (psi|unpsi) ${ID}$`);
const ERR_ID = new RegExp(`^err (psi|unpsi) (${ID.slice(1, -1)}|-) (.+)$`);

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
  if (line.startsWith('err ') && line.length > 4) return { type: 'err', command: null, id: null, text: line.slice(4) };
  m = /^ready (\d+)$/.exec(line);
  if (m) return { type: 'ready', version: Number(m[1]) };
  return null;
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
