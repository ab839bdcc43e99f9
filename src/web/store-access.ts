/**
 * The server's read connection to the store. Opened lazily and reopened
 * after a failure, because with --record the store may not exist yet (the
 * recorder creates it) or may be briefly unreadable; a request then gets a
 * 503 with a JSON error instead of a crash. Readers never block the writer
 * (WAL), so one connection serves every request (better-sqlite3 is
 * synchronous: requests are answered one at a time).
 */

import { httpUnavailable, LoadmonError } from '../errors.ts';
import { StoreReader } from '../store/reader.ts';

export class StoreAccess {
  private reader: StoreReader | null = null;

  constructor(readonly path: string) {}

  /** Opens now; throws the store error (E_STORE_MISSING, E_STORE) as is. Used at start without --record. */
  openNow(): void {
    this.reader ??= StoreReader.open(this.path);
  }

  /** Runs `fn` on the open reader; a store that cannot be opened is a 503. */
  use<T>(fn: (r: StoreReader) => T): T {
    // A store read through a private copy (read-only mount, no -shm) does not see a recorder's
    // later writes: take a new copy once the store has changed.
    if (this.reader?.stale()) this.close();
    if (!this.reader) {
      try {
        this.reader = StoreReader.open(this.path);
      } catch (err) {
        // The store's own words (they name no option); the code and fields stay reachable as the cause.
        throw httpUnavailable(`store ${this.path} cannot be read: ${reasonOf(err)}`, err);
      }
    }
    try {
      return fn(this.reader);
    } catch (err) {
      // SQLite errors (I/O, a replaced file): drop the connection, reopen on the next request.
      // Anything else is a bug in the request's code: a 500, and the connection stays.
      if (isSqliteError(err)) {
        this.close();
        throw httpUnavailable(`store ${this.path}: ${(err as Error).message}`, err);
      }
      throw err;
    }
  }

  close(): void {
    try {
      this.reader?.close();
    } catch {
      /* already unusable */
    }
    this.reader = null;
  }
}

/** Why a store could not be opened, without the path the message repeats. */
function reasonOf(err: unknown): string {
  if (err instanceof LoadmonError) return err.fields.reason ?? err.message;
  return (err as Error).message;
}

/** better-sqlite3's SqliteError carries the SQLite result code name (SQLITE_IOERR, SQLITE_CORRUPT, ...). */
function isSqliteError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}
