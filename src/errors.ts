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
  | 'E_SERVE_UNBUILT'
  | 'E_STORE_STALE'
  | 'E_PSI_UNAVAILABLE'
  | 'E_WAITER';

/**
 * Every code with what it means to each medium: the CLI's exit status (2 for
 * anything the user typed wrong, 1 otherwise) and the HTTP status `serve`
 * answers it with (500 for errors that are not about the request). The one
 * table: the CLI and the web layer both read it, neither keeps its own.
 */
export const ERROR_TABLE: Readonly<Record<ErrorCode, { exit: number; http: number }>> = {
  E_INVALID_OPTION: { exit: 2, http: 500 },
  E_USAGE: { exit: 2, http: 500 },
  E_PROC_UNREADABLE: { exit: 1, http: 500 },
  E_SOURCE_UNAVAILABLE: { exit: 2, http: 500 },
  E_KMOD_FORMAT: { exit: 1, http: 500 },
  E_KMOD: { exit: 1, http: 500 },
  E_DEMO: { exit: 1, http: 500 },
  E_STORE_LOCKED: { exit: 1, http: 500 },
  E_STORE_MISSING: { exit: 2, http: 503 },
  E_STORE: { exit: 1, http: 503 },
  E_STORE_VERSION: { exit: 1, http: 500 },
  E_CAPTURE_NOT_FOUND: { exit: 2, http: 404 },
  E_OUTPUT: { exit: 1, http: 500 },
  E_BPF: { exit: 1, http: 500 },
  E_BPF_PROTOCOL: { exit: 1, http: 500 },
  E_SERVE_INSECURE: { exit: 2, http: 500 },
  E_SERVE_LISTEN: { exit: 1, http: 500 },
  // Made for HTTP: answered, not exited on (exit 1 should one ever reach the CLI).
  E_HTTP_BAD_REQUEST: { exit: 1, http: 400 },
  E_HTTP_NOT_FOUND: { exit: 1, http: 404 },
  E_HTTP_UNAUTHORIZED: { exit: 1, http: 401 },
  E_HTTP_FORBIDDEN: { exit: 1, http: 403 },
  E_HTTP_UNAVAILABLE: { exit: 1, http: 503 },
  E_STORE_CORRUPT: { exit: 1, http: 500 },
  E_PROC_FILE: { exit: 1, http: 500 },
  E_SERVE_UNBUILT: { exit: 1, http: 500 },
  E_STORE_STALE: { exit: 1, http: 503 },
  E_PSI_UNAVAILABLE: { exit: 2, http: 500 },
  E_WAITER: { exit: 1, http: 500 },
};

/**
 * What an error is about, for callers that act on it: never parse the
 * message back. `reason` is the why alone, without the path or option the
 * message wraps it in; `hint` what to do about it.
 */
export interface ErrorFields {
  option?: string;
  value?: string;
  path?: string;
  source?: string;
  reason?: string;
  hint?: string;
}

export class LoadmonError extends Error {
  readonly code: ErrorCode;
  readonly exitStatus: number;
  readonly httpStatus: number;
  readonly fields: Readonly<ErrorFields>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; fields?: ErrorFields }) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'LoadmonError';
    this.code = code;
    this.exitStatus = ERROR_TABLE[code].exit;
    this.httpStatus = ERROR_TABLE[code].http;
    this.fields = options?.fields ?? {};
  }
}

export function invalidOption(option: string, value: string, why: string): LoadmonError {
  return new LoadmonError('E_INVALID_OPTION', `invalid value for ${option}: '${value}' (${why})`, {
    fields: { option, value, reason: why },
  });
}

export function procUnreadable(path: string, cause: unknown): LoadmonError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LoadmonError('E_PROC_UNREADABLE', `cannot read ${path}: ${reason}`, { cause, fields: { path, reason } });
}

/**
 * A proc file that is not what the kernel writes (not a regular file, over its
 * size cap): per-task files cost that task a note, never the capture.
 */
export function procFileRejected(path: string, why: string): LoadmonError {
  return new LoadmonError('E_PROC_FILE', `${path}: ${why}`, { fields: { path, reason: why } });
}

export function sourceUnavailable(source: string, why: string): LoadmonError {
  return new LoadmonError('E_SOURCE_UNAVAILABLE', `source '${source}' is not available: ${why}`, { fields: { source, reason: why } });
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
  return new LoadmonError('E_STORE_LOCKED', `${db} is already being recorded into by ${holder}; stop it first (one writer per store)`, {
    fields: { path: db },
  });
}

/**
 * A path that holds no store: nothing there, a database without loadmon's
 * tables, or (`why`) not a regular file. Worded for any caller; the CLI
 * names the option it came from (optionError), the API answers 503.
 */
export function storeMissing(db: string, why = 'no loadmon store there'): LoadmonError {
  const hint = why === 'no loadmon store there' ? 'run loadmon record first' : undefined;
  return new LoadmonError('E_STORE_MISSING', `${db}: ${why}${hint ? `; ${hint}` : ''}`, { fields: { path: db, reason: why, hint } });
}

/** The store could not be opened, read or written (I/O, permissions, corruption, disk full). */
export function storeError(db: string, cause: unknown): LoadmonError {
  return new LoadmonError('E_STORE', `store ${db}: ${describeStoreFailure(cause)}`, { cause, fields: { path: db } });
}

/** The store file is damaged (SQLITE_CORRUPT) or not a SQLite database at all (SQLITE_NOTADB). */
export function storeCorrupt(db: string, cause: unknown, what = 'is damaged'): LoadmonError {
  const e = cause as { message?: string } | undefined;
  return new LoadmonError('E_STORE_CORRUPT', `store ${db} ${what} (${e?.message ?? String(cause)})`, { cause, fields: { path: db } });
}

export function storeVersion(db: string, found: number, known: number): LoadmonError {
  return new LoadmonError(
    'E_STORE_VERSION',
    `store ${db} has schema version ${found}, newer than this loadmon understands (${known}); upgrade loadmon`,
    { fields: { path: db } },
  );
}

/** No capture with that id in the store (the CLI names --capture, the API answers 404). */
export function captureNotFound(id: string): LoadmonError {
  const why = 'no such capture in the store';
  return new LoadmonError('E_CAPTURE_NOT_FOUND', `capture ${id}: ${why}`, { fields: { value: id, reason: why } });
}

/**
 * `err` worded for the command line: an error about a value that came from
 * `option` (a store path from --db, a capture id from --capture) says so,
 * like a bad option; code, exit status and fields are kept. Anything else is
 * returned as is.
 */
export function optionError(err: unknown, option: string): unknown {
  if (!(err instanceof LoadmonError)) return err;
  const value = err.fields.value ?? err.fields.path;
  if (value === undefined || err.fields.reason === undefined || err.fields.option !== undefined) return err;
  const why = err.fields.hint ? `${err.fields.reason}; ${err.fields.hint}` : err.fields.reason;
  return new LoadmonError(err.code, `invalid value for ${option}: '${value}' (${why})`, {
    cause: err,
    fields: { ...err.fields, option, value },
  });
}

export function outputError(path: string, cause: unknown): LoadmonError {
  return new LoadmonError('E_OUTPUT', `cannot write ${path}: ${describeStoreFailure(cause)}`, { cause, fields: { path } });
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
    { fields: { option: '--listen', value: listen } },
  );
}

/** The HTTP server could not listen (address in use, not local, no permission). */
export function serveListen(listen: string, cause: unknown): LoadmonError {
  const e = cause as { code?: string; message?: string } | undefined;
  return new LoadmonError('E_SERVE_LISTEN', `cannot listen on ${listen}: ${e?.message ?? String(cause)}`, {
    cause,
    fields: { value: listen },
  });
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
export function httpUnavailable(message: string, cause?: unknown): LoadmonError {
  return new LoadmonError('E_HTTP_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

/** `serve` without the compiled shared modules the page imports (escape, flame tree: a source checkout that was never built). */
export function serveUnbuilt(expected: string): LoadmonError {
  return new LoadmonError('E_SERVE_UNBUILT', `the dashboard needs the compiled module ${expected}, which is missing: run npm run build`);
}

/** The HTTP status of an error answered by `serve`: ERROR_TABLE's, and 500 for anything not a LoadmonError. */
export function httpStatus(err: unknown): number {
  return err instanceof LoadmonError ? err.httpStatus : 500;
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

/** The store holds no sample since `sinceMs`: its recorder stopped (or never ran). `newestMs` null: no sample at all. */
export function storeStale(db: string, sinceMs: number, newestMs: number | null): LoadmonError {
  const newest = newestMs === null ? 'it holds no sample' : `its newest sample is from ${new Date(newestMs).toISOString()}`;
  const reason = `no sample since ${new Date(sinceMs).toISOString()} (${newest})`;
  return new LoadmonError('E_STORE_STALE', `${db}: ${reason}; is loadmon record running?`, {
    fields: { path: db, reason, hint: 'is loadmon record running?' },
  });
}

/**
 * The native waiter (native/waiter.c) did not start, died, broke its
 * protocol, refused a command (`reason`: its own text) or did not answer in time.
 */
export function waiterError(message: string, reason: string, path?: string): LoadmonError {
  return new LoadmonError('E_WAITER', `native waiter: ${message}`, { fields: path ? { reason, path } : { reason } });
}

/**
 * A PSI trigger (--trigger psi:…) on a kernel without PSI (no CONFIG_PSI, or
 * booted with psi=0): `path` is the /proc/pressure file that is missing.
 */
export function psiUnavailable(option: string, value: string, path: string): LoadmonError {
  const reason = `this kernel has no ${path} (built without CONFIG_PSI, or booted with psi=0)`;
  return new LoadmonError('E_PSI_UNAVAILABLE', `${option} ${value}: PSI is not available: ${reason}`, {
    fields: { option, value, path, reason, hint: 'use the load rule (--threshold) alone, or boot with psi=1' },
  });
}
