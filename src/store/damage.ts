/**
 * A damaged store. SQLite reports damage as SQLITE_CORRUPT (a page that does
 * not parse) or SQLITE_NOTADB (no valid header). The recorder moves a damaged
 * SQLite file aside and starts a new store (docs/store.md); a file without
 * the SQLite header is someone else's file and is never touched.
 */

import { closeSync, existsSync, openSync, readSync, renameSync } from 'node:fs';

import { LoadmonError, storeCorrupt, storeError } from '../errors.ts';
import { realStorePath } from './path.ts';

const SQLITE_MAGIC = 'SQLite format 3\0';

/** SQLITE_CORRUPT (and its extended codes) or SQLITE_NOTADB. */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/** True when the file starts with SQLite's 16-byte magic string (it is, or was, a database). */
export function hasSqliteHeader(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const buf = Buffer.alloc(SQLITE_MAGIC.length);
    return readSync(fd, buf, 0, buf.length, 0) === buf.length && buf.toString('latin1') === SQLITE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/**
 * Renames the store's real file to `<db>.corrupt-<UTC time>` and its -wal
 * and -shm along with it (named so that SQLite opening the moved file finds
 * its WAL). Returns the new name. The caller has closed every connection.
 */
export function moveAside(path: string, nowMs: number): string {
  const real = realStorePath(path);
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  let target = `${real}.corrupt-${stamp}`;
  for (let n = 1; existsSync(target); n++) target = `${real}.corrupt-${stamp}.${n}`;
  renameSync(real, target);
  for (const suffix of ['-wal', '-shm']) {
    try {
      renameSync(`${real}${suffix}`, `${target}${suffix}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return target;
}

/**
 * A failure while reading the store, as the CLI shows it: damage is
 * E_STORE_CORRUPT and other SQLite errors E_STORE, both naming the path;
 * loadmon's own errors and bugs pass through.
 */
export function readFailure(path: string, err: unknown): unknown {
  if (err instanceof LoadmonError) return err;
  if (isCorruption(err)) return storeCorrupt(path, err, hasSqliteHeader(path) ? 'is damaged' : 'is not a SQLite database');
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return storeError(path, err);
  return err;
}
