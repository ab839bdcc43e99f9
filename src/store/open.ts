/** Opening a store file with the pragmas every connection needs. */

import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';

import { storeError, storeMissing } from '../errors.ts';
import { migrate } from './schema.ts';

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

/** A reader's connection: the store must exist and be a loadmon store. */
export function openForRead(path: string): Database.Database {
  if (!existsSync(path)) throw storeMissing(path);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 2000');
  } catch (err) {
    throw storeError(path, err);
  }
  try {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'captures'").get();
    if (!hasMeta) {
      db.close();
      throw storeMissing(path);
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'E_STORE_MISSING') throw err;
    db.close();
    throw storeError(path, err);
  }
  return db;
}
