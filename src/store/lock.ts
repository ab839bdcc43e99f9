/**
 * One writer per store: `record` holds DB.lock, a file naming its pid and
 * the process start time. A lock whose process is gone, or whose pid now
 * belongs to a process started at another time (pid reuse after a crash or
 * kill -9), is stale and taken over. The file is written under a temporary
 * name and hard-linked into place, so a reader never sees it half-written.
 *
 * The lock follows the real file (lockPathFor).
 *
 * SQLite's own locking cannot do this job: in WAL mode any number of
 * connections may write in turn, and locking_mode=EXCLUSIVE would also shut
 * out `report`.
 */

import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';

import { storeLocked } from '../errors.ts';
import { realStorePath } from './path.ts';

export interface StoreLock {
  readonly path: string;
  release(): void;
}

interface Holder {
  pid: number;
  start: string;
}

/**
 * The lock sits next to the real file (symlinks resolved), so every name of
 * one store finds the same lock. Hard links are not followed: SQLite names
 * the -wal after the path too, so two hard links are two stores to it (and
 * corrupt each other); docs/store.md says not to.
 */
export function lockPathFor(dbPath: string): string {
  return `${realStorePath(dbPath)}.lock`;
}

/** Takes the lock or throws E_STORE_LOCKED; I/O errors (EROFS, EACCES, ENOSPC) are thrown as is. */
export function acquireStoreLock(dbPath: string, procRoot = '/proc'): StoreLock {
  const path = lockPathFor(dbPath);
  const me: Holder = { pid: process.pid, start: startTime(process.pid, procRoot) ?? '?' };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${me.pid} ${me.start}\n`);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, path);
        return { path, release: () => releaseIfOurs(path, me) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readHolder(path);
      if (holder && isAlive(holder, procRoot)) {
        throw storeLocked(dbPath, `loadmon (pid ${holder.pid}, lock ${path}: record, or top --db)`);
      }
      // Stale (its process is gone) or unreadable garbage: take it over.
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    throw storeLocked(dbPath, `another process racing for ${path}`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }
}

function releaseIfOurs(path: string, me: Holder): void {
  const h = readHolder(path);
  if (h && h.pid === me.pid && h.start === me.start) {
    try {
      unlinkSync(path);
    } catch {
      /* read-only now, or gone: the next record sees it stale */
    }
  }
}

function readHolder(path: string): Holder | null {
  try {
    const [pid, start] = readFileSync(path, 'utf8').trim().split(/\s+/);
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, start: start ?? '?' } : null;
  } catch {
    return null;
  }
}

function isAlive(h: Holder, procRoot: string): boolean {
  const now = startTime(h.pid, procRoot);
  if (now === null) return false;
  return h.start === '?' || now === h.start;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); null when the process is gone. */
function startTime(pid: number, procRoot: string): string | null {
  try {
    const s = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
