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
  | 'E_DEMO';

/** Exit status per code: 2 for anything the user typed wrong, 1 otherwise. */
const EXIT_STATUS: Record<ErrorCode, number> = {
  E_INVALID_OPTION: 2,
  E_USAGE: 2,
  E_PROC_UNREADABLE: 1,
  E_SOURCE_UNAVAILABLE: 2,
  E_KMOD_FORMAT: 1,
  E_KMOD: 1,
  E_DEMO: 1,
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
