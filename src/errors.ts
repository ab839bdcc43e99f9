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
  | 'E_OUTPUT'
  | 'E_BPF'
  | 'E_BPF_PROTOCOL'
  | 'E_SERVE_INSECURE'
  | 'E_SERVE_LISTEN'
  | 'E_HTTP_BAD_REQUEST'
  | 'E_HTTP_NOT_FOUND'
  | 'E_HTTP_UNAUTHORIZED'
  | 'E_HTTP_FORBIDDEN'
  | 'E_HTTP_UNAVAILABLE'
  | 'E_STORE_CORRUPT'
  | 'E_PROC_FILE'
  | 'E_SERVE_UNBUILT';

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
  E_BPF: 1,
  E_BPF_PROTOCOL: 1,
  E_SERVE_INSECURE: 2,
  E_SERVE_LISTEN: 1,
  // HTTP errors are answered, not exited on; their HTTP status is httpStatus below.
  E_HTTP_BAD_REQUEST: 1,
  E_HTTP_NOT_FOUND: 1,
  E_HTTP_UNAUTHORIZED: 1,
  E_HTTP_FORBIDDEN: 1,
  E_HTTP_UNAVAILABLE: 1,
  E_STORE_CORRUPT: 1,
  E_PROC_FILE: 1,
  E_SERVE_UNBUILT: 1,
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

/**
 * A proc file that is not what the kernel writes (not a regular file, over its
 * size cap): per-task files cost that task a note, never the capture.
 */
export function procFileRejected(path: string, why: string): LoadmonError {
  return new LoadmonError('E_PROC_FILE', `${path}: ${why}`);
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

/** The store file is damaged (SQLITE_CORRUPT) or not a SQLite database at all (SQLITE_NOTADB). */
export function storeCorrupt(db: string, cause: unknown, what = 'is damaged'): LoadmonError {
  const e = cause as { message?: string } | undefined;
  return new LoadmonError('E_STORE_CORRUPT', `store ${db} ${what} (${e?.message ?? String(cause)})`, { cause });
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

/** The eBPF helper failed at run time (it died, the iterator failed, sampling could not start). */
export function bpfError(message: string): LoadmonError {
  return new LoadmonError('E_BPF', message);
}

/** The eBPF helper sent a line loadmon does not understand (a mismatched build). */
export function bpfProtocol(why: string): LoadmonError {
  return new LoadmonError('E_BPF_PROTOCOL', `eBPF helper output: ${why}`);
}

/** `serve --listen` on a non-loopback address without --token / LOADMON_TOKEN. */
export function serveInsecure(listen: string): LoadmonError {
  return new LoadmonError(
    'E_SERVE_INSECURE',
    `invalid value for --listen: '${listen}' (not a loopback address: anyone who can reach it would see kernel stacks, ` +
      'process names and cgroups; give --token or set LOADMON_TOKEN, or listen on 127.0.0.1)',
  );
}

/** The HTTP server could not listen (address in use, not local, no permission). */
export function serveListen(listen: string, cause: unknown): LoadmonError {
  const e = cause as { code?: string; message?: string } | undefined;
  return new LoadmonError('E_SERVE_LISTEN', `cannot listen on ${listen}: ${e?.message ?? String(cause)}`, { cause });
}

/** A request the API cannot answer as asked (bad id, bad range, unknown format): HTTP 400. */
export function httpBadRequest(message: string): LoadmonError {
  return new LoadmonError('E_HTTP_BAD_REQUEST', message);
}

/** Nothing there (no such capture, no such route): HTTP 404. */
export function httpNotFound(message: string): LoadmonError {
  return new LoadmonError('E_HTTP_NOT_FOUND', message);
}

/** A token is configured and the request did not carry it: HTTP 401. */
export function httpUnauthorized(): LoadmonError {
  return new LoadmonError(
    'E_HTTP_UNAUTHORIZED',
    'this loadmon serve requires a token: send "Authorization: Bearer <token>", or open /login?token=<token> once in a browser',
  );
}

/** A Host header that names neither loopback nor the listen address (DNS rebinding): HTTP 403. */
export function httpForbiddenHost(host: string): LoadmonError {
  return new LoadmonError(
    'E_HTTP_FORBIDDEN',
    `Host '${host}' is not this server's address; without a token only loopback names are answered (DNS rebinding protection)`,
  );
}

/** The store cannot be read right now (not created yet, I/O error): HTTP 503. */
export function httpUnavailable(message: string): LoadmonError {
  return new LoadmonError('E_HTTP_UNAVAILABLE', message);
}

/** `serve` without the compiled escape module the page imports (a source checkout that was never built). */
export function serveUnbuilt(expected: string): LoadmonError {
  return new LoadmonError('E_SERVE_UNBUILT', `the dashboard needs the compiled escape module ${expected}, which is missing: run npm run build`);
}

/** The HTTP status of an error answered by `serve` (500 for anything not made for HTTP). */
export function httpStatus(err: unknown): number {
  if (!(err instanceof LoadmonError)) return 500;
  switch (err.code) {
    case 'E_HTTP_BAD_REQUEST':
      return 400;
    case 'E_HTTP_UNAUTHORIZED':
      return 401;
    case 'E_HTTP_FORBIDDEN':
      return 403;
    case 'E_HTTP_NOT_FOUND':
    case 'E_CAPTURE_NOT_FOUND':
      return 404;
    case 'E_HTTP_UNAVAILABLE':
    case 'E_STORE_MISSING':
    case 'E_STORE':
      return 503;
    default:
      return 500;
  }
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
