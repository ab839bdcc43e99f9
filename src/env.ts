/**
 * Every environment variable loadmon reads, parsed and validated in one
 * place. A value that is set but wrong exits 2 naming the variable, like a
 * bad option: a typo in LOADMON_DETAIL_TIMEOUT_MS must not silently become
 * the default, and a huge value must not overflow Node's timer (values above
 * 2^31-1 ms fire after 1 ms). An empty value means "not set" everywhere, as
 * in most shells' `VAR= cmd` idiom. docs/environment.md lists them all.
 */

import { invalidOption } from './errors.ts';

export interface LoadmonEnv {
  /** LOADMON_DETAIL_TIMEOUT_MS: how long a capture waits for kernel stacks (null: the caller's default). */
  readonly detailTimeoutMs: number | null;
  /** LOADMON_TOKEN: the API token of `serve` when --token is not given (null: none). */
  readonly token: string | null;
  /** LOADMON_BPF_HELPER: path of another eBPF helper binary (null: the built one). */
  readonly bpfHelper: string | null;
  /** LOADMON_BPF_DEBUG: the eBPF helper's libbpf messages go to stderr. */
  readonly bpfDebug: boolean;
  /** LOADMON_BPF_ITER_TASK: force the helper's iter/task pass (as on kernels before 6.7). */
  readonly bpfIterTask: boolean;
  /** LOADMON_CACHE_DIR: where the demo's load generator is built first. */
  readonly cacheDir: string | null;
  /** LOADMON_DEBUG: print the stack of an internal error. */
  readonly debug: boolean;
  /** LOADMON_WAITER: path of another native waiter binary, or `off` for Node's polling (null: the built one). */
  readonly waiter: string | null;
}

/** Longest detail deadline: 10 minutes, far below Node's timer limit (2^31-1 ms). */
export const MAX_DETAIL_TIMEOUT_MS = 600_000;

type Env = Readonly<Record<string, string | undefined>>;

/** Parse and validate every LOADMON_* variable; throws E_INVALID_OPTION (exit 2) naming the first bad one. */
export function readEnv(env: Env = process.env): LoadmonEnv {
  return {
    detailTimeoutMs: integerVar(env, 'LOADMON_DETAIL_TIMEOUT_MS', 1, MAX_DETAIL_TIMEOUT_MS),
    token: stringVar(env, 'LOADMON_TOKEN'),
    bpfHelper: stringVar(env, 'LOADMON_BPF_HELPER'),
    bpfDebug: flagVar(env, 'LOADMON_BPF_DEBUG'),
    bpfIterTask: flagVar(env, 'LOADMON_BPF_ITER_TASK'),
    cacheDir: stringVar(env, 'LOADMON_CACHE_DIR'),
    debug: flagVar(env, 'LOADMON_DEBUG'),
    waiter: stringVar(env, 'LOADMON_WAITER'),
  };
}

/**
 * NO_COLOR present and non-empty (https://no-color.org: any value, even 0),
 * or TERM=dumb: terminal output without colour. Kept out of LoadmonEnv: it
 * is a convention shared with other programs, never validated, so it cannot
 * stop a command the way a bad LOADMON_* value does.
 */
export function noColor(env: Env = process.env): boolean {
  return stringVar(env, 'NO_COLOR') !== null || env.TERM === 'dumb';
}

let cached: LoadmonEnv | null = null;

/** The process's environment, validated once (the CLI validates it at start, so later calls do not throw). */
export function loadmonEnv(): LoadmonEnv {
  cached ??= readEnv();
  return cached;
}

/**
 * The environment for a child process that reads variables itself (the C
 * eBPF helper tests them with getenv(), where any non-empty value means on):
 * a flag that is off (0, false, …) is removed so that the child sees it off
 * too, and one that is on is passed as 1.
 */
export function childEnv(env: Env = process.env): Record<string, string> {
  const parsed = readEnv(env);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  setFlag(out, 'LOADMON_BPF_DEBUG', parsed.bpfDebug);
  setFlag(out, 'LOADMON_BPF_ITER_TASK', parsed.bpfIterTask);
  return out;
}

function setFlag(out: Record<string, string>, name: string, on: boolean): void {
  if (on) out[name] = '1';
  else delete out[name];
}

function stringVar(env: Env, name: string): string | null {
  const v = env[name];
  return v === undefined || v === '' ? null : v;
}

function integerVar(env: Env, name: string, min: number, max: number): number | null {
  const v = stringVar(env, name);
  if (v === null) return null;
  if (!/^\d+$/.test(v)) throw invalidOption(name, v, `a whole number of milliseconds from ${min} to ${max}`);
  const n = Number(v);
  if (n < min || n > max) throw invalidOption(name, v, `must be from ${min} to ${max}`);
  return n;
}

const FLAG_ON = new Set(['1', 'true', 'yes', 'on']);
const FLAG_OFF = new Set(['0', 'false', 'no', 'off']);

function flagVar(env: Env, name: string): boolean {
  const v = stringVar(env, name);
  if (v === null) return false;
  const word = v.toLowerCase();
  if (FLAG_ON.has(word)) return true;
  if (FLAG_OFF.has(word)) return false;
  throw invalidOption(name, v, 'use 1, true, yes or on to turn it on; 0, false, no, off or empty to leave it off');
}
