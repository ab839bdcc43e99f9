/**
 * Every error loadmon raises on purpose is created here, with a stable code,
 * so that the CLI can map it to an exit status and tests can match on it.
 */

export type ErrorCode =
  | 'E_INVALID_OPTION'
  | 'E_USAGE'
  | 'E_PROC_UNREADABLE'
  | 'E_SOURCE_UNAVAILABLE'
  | 'E_KMOD_FORMAT'
  | 'E_KMOD'
  | 'E_DEMO'
  | 'E_STORE_LOCKED'
  | 'E_STORE_MISSING'
  | 'E_STORE'
  | 'E_STORE_VERSION'
  | 'E_CAPTURE_NOT_FOUND'
  | 'E_OUTPUT';

/** Exit status per code: 2 for anything the user typed wrong, 1 otherwise. */
const EXIT_STATUS: Record<ErrorCode, number> = {
  E_INVALID_OPTION: 2,
  E_USAGE: 2,
  E_PROC_UNREADABLE: 1,
  E_SOURCE_UNAVAILABLE: 2,
  E_KMOD_FORMAT: 1,
  E_KMOD: 1,
  E_DEMO: 1,
  E_STORE_LOCKED: 1,
  E_STORE_MISSING: 2,
  E_STORE: 1,
  E_STORE_VERSION: 1,
  E_CAPTURE_NOT_FOUND: 2,
  E_OUTPUT: 1,
};

export class LoadmonError extends Error {
  readonly code: ErrorCode;
  readonly exitStatus: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoadmonError';
    this.code = code;
    this.exitStatus = EXIT_STATUS[code];
  }
}

export function invalidOption(option: string, value: string, why: string): LoadmonError {
  return new LoadmonError('E_INVALID_OPTION', `invalid value for ${option}: '${value}' (${why})`);
}

export function procUnreadable(path: string, cause: unknown): LoadmonError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LoadmonError('E_PROC_UNREADABLE', `cannot read ${path}: ${reason}`, { cause });
}

export function sourceUnavailable(source: string, why: string): LoadmonError {
  return new LoadmonError('E_SOURCE_UNAVAILABLE', `source '${source}' is not available: ${why}`);
}

export function kmodFormat(line: number, why: string): LoadmonError {
  return new LoadmonError('E_KMOD_FORMAT', `load_monitor output, line ${line}: ${why}`);
}

export function kmodError(message: string): LoadmonError {
  return new LoadmonError('E_KMOD', message);
}

export function demoError(message: string): LoadmonError {
  return new LoadmonError('E_DEMO', message);
}

/** Another live `loadmon record` holds the store (its lock file names it). */
export function storeLocked(db: string, holder: string): LoadmonError {
  return new LoadmonError('E_STORE_LOCKED', `${db} is already being recorded into by ${holder}; stop it first (one writer per store)`);
}

/** `report --db PATH` on a path that holds no store: the user named the wrong file. */
export function storeMissing(db: string): LoadmonError {
  return new LoadmonError('E_STORE_MISSING', `invalid value for --db: '${db}' (no loadmon store there; run loadmon record first)`);
}

/** The store could not be opened, read or written (I/O, permissions, corruption, disk full). */
export function storeError(db: string, cause: unknown): LoadmonError {
  return new LoadmonError('E_STORE', `store ${db}: ${describeStoreFailure(cause)}`, { cause });
}

export function storeVersion(db: string, found: number, known: number): LoadmonError {
  return new LoadmonError(
    'E_STORE_VERSION',
    `store ${db} has schema version ${found}, newer than this loadmon understands (${known}); upgrade loadmon`,
  );
}

export function captureNotFound(id: string): LoadmonError {
  return new LoadmonError('E_CAPTURE_NOT_FOUND', `invalid value for --capture: '${id}' (no such capture in the store)`);
}

export function outputError(path: string, cause: unknown): LoadmonError {
  return new LoadmonError('E_OUTPUT', `cannot write ${path}: ${describeStoreFailure(cause)}`, { cause });
}

/** One line a person can act on, from an errno or SQLite error. */
export function describeStoreFailure(cause: unknown): string {
  const e = cause as { code?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  if (code === 'EROFS' || code === 'SQLITE_READONLY' || /read-only|readonly/i.test(e?.message ?? '')) {
    return `read-only file system or file (${e?.message ?? code})`;
  }
  if (code === 'ENOSPC' || code === 'SQLITE_FULL' || /disk is full|no space/i.test(e?.message ?? '')) {
    return `disk full (${e?.message ?? code})`;
  }
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${e?.message ?? code})`;
  if (code === 'ENOTDIR') return `a path component is not a directory (${e?.message ?? code})`;
  return e?.message ?? String(cause);
}

/** errno codes that mean "the task went away while we looked": normal, skip silently. */
export function isVanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/** errno codes that mean "you may not read this": degrade with a note. */
export function isDenied(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}
