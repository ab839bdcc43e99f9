/**
 * The waiter's row spool: `<db>.rows`, next to the store. The waiter appends
 * each light row there as it takes it and cuts the file back to the last
 * batch it handed over (native/waiter.c, rows_spool), so the rows a recorder
 * killed with SIGKILL had not stored yet -- at most a batch pending in the
 * waiter and the batch in flight on the pipe -- are still on disk. The next
 * `record` on the store reads them back before it samples anything (rows it
 * had stored are told apart by their time) and removes the file; a clean
 * stop removes it after the last flush.
 */

import { closeSync, constants, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';

import { parseWaiterLine, spoolable, type WaiterRow } from '../trigger/waiter-protocol.ts';

/** Two batches of the longest rows fit many times over; a bigger file is not the waiter's. */
export const SPOOL_CAP = 256 * 1024;

/** The spool of the store at `db`; undefined when the waiter cannot take that path (white space). */
export function spoolPathFor(db: string): string | undefined {
  const path = `${db}.rows`;
  return spoolable(path) ? path : undefined;
}

/**
 * The rows in a spool, oldest first, those after `afterMs` only. Nothing
 * (and no error) when there is no spool; a line cut by the kill, or any
 * line that is not exactly a waiter row, is skipped. Never follows a link
 * and reads only a regular file, at most SPOOL_CAP bytes.
 */
export function readSpool(path: string, afterMs: number): WaiterRow[] {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    // ENOENT: the usual case (a clean stop, or a first start); ELOOP: a link, not ours.
    return [];
  }
  try {
    if (!fstatSync(fd).isFile()) return [];
    const buf = Buffer.alloc(SPOOL_CAP);
    const n = readSync(fd, buf, 0, SPOOL_CAP, 0);
    const rows: WaiterRow[] = [];
    for (const line of buf.toString('latin1', 0, n).split('\n')) {
      const parsed = parseWaiterLine(line);
      if (parsed?.type === 'row' && parsed.row.timeMs > afterMs) rows.push(parsed.row);
    }
    // The spool holds each row once, in the order taken; sorting guards against a clock step only.
    return rows.sort((a, b) => a.timeMs - b.timeMs);
  } finally {
    closeSync(fd);
  }
}

/** Removes the spool (its rows are stored); a missing one is fine. */
export function removeSpool(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already, or the directory turned read-only: the next start skips rows it has by their time.
  }
}
