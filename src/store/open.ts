/** Opening a store file with the pragmas every connection needs. */

import { accessSync, constants, copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { LoadmonError, storeError, storeMissing, storeVersion } from '../errors.ts';
import { readFailure } from './damage.ts';
import { notAStoreFile } from './path.ts';
import { migrate, SCHEMA_VERSION } from './schema.ts';

/** The writer's connection: created if missing, WAL, migrated. Throws the raw error (callers decide). */
export function openForWrite(path: string, nowMs: number): Database.Database {
  const db = new Database(path);
  try {
    if ((db.pragma('user_version', { simple: true }) as number) === 0) {
      // Only settable while the file is new (before WAL mode or the first
      // table write page 1): lets retention give freed pages back to the
      // file system (incremental_vacuum) instead of keeping the file at its
      // high-water mark.
      db.pragma('auto_vacuum = INCREMENTAL');
    }
    // WAL: readers (report) never block the recorder, and a kill -9 at any
    // point leaves the last committed transaction intact. synchronous=NORMAL
    // in WAL mode is crash-safe for the process; only a power loss can drop
    // the last few commits, never corrupt the file.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Bounds the -wal file after checkpoints (it is otherwise left at its peak).
    db.pragma('journal_size_limit = 4194304');
    db.pragma('busy_timeout = 2000');
    migrate(db, path, nowMs);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** A reader's connection, and what to clean up after closing it (a private copy). */
export interface ReadConnection {
  db: Database.Database;
  /** True when reading a private copy and the store has changed since it was taken. */
  stale(): boolean;
  dispose(): void;
}

/**
 * A reader's connection: the store must exist and be a loadmon store this
 * version understands. Never writes to the store. A WAL-mode store whose
 * -shm can neither be opened nor created (a read-only mount, another user's
 * directory, no writer running) is read from a private copy in the temporary
 * directory; SQLite offers no other way to read it in this build (no URIs, so
 * no immutable=1).
 */
export function openForRead(path: string): ReadConnection {
  if (!existsSync(path)) throw storeMissing(path);
  const why = notAStoreFile(path);
  if (why !== null) throw storeMissing(path, why);
  try {
    return { db: readConnection(path, path), stale: () => false, dispose: () => {} };
  } catch (err) {
    if (!needsSharedMemory(err)) throw readFailure(path, err);
  }
  return readCopy(path);
}

/** Opened read-only and checked; SQLite's errors are thrown raw (the caller classifies them). */
function readConnection(file: string, name: string): Database.Database {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    // The first read: opens the WAL and its -shm, so a store that needs them fails here.
    const hasCaptures = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'captures'").get();
    if (!hasCaptures) throw storeMissing(name);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw storeVersion(name, version, SCHEMA_VERSION);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The errors of a read-only connection that could not open or create the WAL's -wal/-shm files. */
function needsSharedMemory(err: unknown): boolean {
  if (err instanceof LoadmonError) return false;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_READONLY'));
}

/**
 * Reads a copy of the store (and its -wal, which holds the last commits of a
 * recorder that did not close cleanly) in a private directory, removed on
 * close. It costs the store's size in the temporary directory for as long as
 * the reader is open.
 */
function readCopy(path: string): ReadConnection {
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw storeError(path, err);
  }
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-read-'));
  const dispose = (): void => {
    rmSync(dir, { recursive: true, force: true });
    copies.delete(dir);
  };
  removeCopiesAtExit(dir);
  try {
    const taken = fingerprint(path);
    const copy = join(dir, 'store.db');
    copyFileSync(path, copy);
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
    return { db: readConnection(copy, path), stale: () => fingerprint(path) !== taken, dispose };
  } catch (err) {
    dispose();
    if (err instanceof LoadmonError) throw err;
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && !code.startsWith('SQLITE_')) {
      throw storeError(
        path,
        new Error(`cannot read it in place (no -shm can be created next to it) nor copy it to ${tmpdir()}: ${(err as Error).message}`),
      );
    }
    throw readFailure(path, err);
  }
}

/** Private copies not yet disposed of: removed when the process exits (a kill -9 leaves them). */
const copies = new Set<string>();
let exitHook = false;

function removeCopiesAtExit(dir: string): void {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const d of copies) rmSync(d, { recursive: true, force: true });
    });
  }
  copies.add(dir);
}

/** Size and mtime of the store and its -wal, and whether a -shm exists (a writer started). */
function fingerprint(path: string): string {
  return ['', '-wal', '-shm']
    .map((suffix) => {
      try {
        const st = statSync(`${path}${suffix}`);
        return `${st.size}:${st.mtimeMs}`;
      } catch {
        return '-';
      }
    })
    .join(' ');
}
