/**
 * Parser for /proc/PID/task/TID/stat.
 *
 * The comm is printed raw between parentheses and may itself contain spaces,
 * parentheses and newlines (prctl(PR_SET_NAME) accepts almost anything), so
 * the only reliable anchor is the LAST ')' in the line: the state letter is
 * the first field after it. Field numbers below follow proc(5), 1-based.
 */

import { COMM_MAX_BYTES, capBytes } from './limits.ts';

export interface TaskStat {
  pid: number;
  comm: string;
  /** Single state letter: R S D T t Z X I P (and older kernels' W K x). */
  state: string;
  ppid: number;
  /** PF_* flags (field 9); PF_KTHREAD marks kernel threads. */
  flags: number;
  /** Last CPU the task ran on (field 39), or -1 when the line is short. */
  processor: number;
}

export const PF_KTHREAD = 0x00200000;

export class StatParseError extends Error {}

export function parseTaskStat(line: string): TaskStat {
  const open = line.indexOf(' (');
  const close = line.lastIndexOf(')');
  if (open <= 0 || close < open) throw new StatParseError(`not a stat line: ${JSON.stringify(line.slice(0, 80))}`);
  const pid = Number(line.slice(0, open));
  if (!Number.isInteger(pid) || pid <= 0) throw new StatParseError(`bad pid in stat line: ${JSON.stringify(line.slice(0, 20))}`);
  // The kernel writes at most 64 bytes; more comes from a crafted tree.
  const comm = capBytes(line.slice(open + 2, close), COMM_MAX_BYTES);
  // After ") " come fields 3.. separated by single spaces.
  const rest = line
    .slice(close + 2)
    .trimEnd()
    .split(' ');
  const state = rest[0];
  if (state === undefined || state.length !== 1) throw new StatParseError(`no state after comm in stat line of pid ${pid}`);
  // rest[0] is field 3, so field N is rest[N - 3].
  return {
    pid,
    comm,
    state,
    ppid: toInt(rest[1]),
    flags: toInt(rest[6]),
    processor: rest.length > 36 ? toInt(rest[36]) : -1,
  };
}

function toInt(s: string | undefined): number {
  if (s === undefined) return -1;
  const n = Number(s);
  return Number.isFinite(n) ? n : -1;
}
