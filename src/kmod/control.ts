/**
 * Building, loading, unloading and inspecting the load_monitor module:
 * thin wrappers over make, insmod and rmmod that turn their failures into
 * one clear sentence (no module support, missing headers, not root, secure
 * boot or lockdown refusing an unsigned module).
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';

import { kmodError } from '../errors.ts';
import { KERNEL_DIR } from '../paths.ts';
import { PARAMS_DIR, type ParamName, readParam } from './params.ts';

export const MODULE_NAME = 'load_monitor';
export const MODULE_KO = join(KERNEL_DIR, `${MODULE_NAME}.ko`);

export function defaultKdir(): string {
  return `/lib/modules/${release()}/build`;
}

export function moduleSupport(): boolean {
  return existsSync('/proc/modules');
}

export function isLoaded(): boolean {
  return existsSync(`/sys/module/${MODULE_NAME}`);
}

function requireRoot(what: string): void {
  if (process.geteuid?.() !== 0) throw kmodError(`${what} needs root`);
}

function run(cmd: string, args: string[]): { status: number | null; out: string; missing: boolean } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim(), missing };
}

/** Builds kernel/load_monitor.ko against KDIR; returns the .ko path. */
export function buildModule(kdir = defaultKdir()): { ko: string; log: string } {
  if (!existsSync(join(kdir, 'Makefile'))) {
    throw kmodError(
      `no kernel build tree at ${kdir}: install the headers for this kernel ` +
        `(Debian/Ubuntu: apt-get install linux-headers-${release()}) or pass --kdir`,
    );
  }
  const r = run('make', ['-C', KERNEL_DIR, `KDIR=${kdir}`]);
  if (r.missing) throw kmodError('make is not installed (apt-get install make gcc)');
  if (r.status !== 0 || !existsSync(MODULE_KO)) {
    throw kmodError(`building the module failed:\n${r.out.split('\n').slice(-15).join('\n')}`);
  }
  return { ko: MODULE_KO, log: r.out };
}

export interface LoadParams {
  threshold?: string;
  interval_ms?: number;
  cooldown_s?: number;
  depth?: number;
  max_tasks?: number;
  keep?: number;
  printk?: boolean;
}

export function loadModule(params: LoadParams, ko = MODULE_KO): void {
  if (!moduleSupport()) {
    throw kmodError(
      `this kernel (${release()}) has no loadable module support (CONFIG_MODULES is off); use --source procfs or bpf (loadmon ` +
        `kmod status says which work here)`,
    );
  }
  requireRoot('loading a kernel module');
  if (isLoaded()) throw kmodError(`${MODULE_NAME} is already loaded (loadmon kmod unload first)`);
  if (!existsSync(ko)) throw kmodError(`${ko} does not exist: run loadmon kmod build first`);
  const args = [ko];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) args.push(`${k}=${typeof v === 'boolean' ? (v ? 1 : 0) : v}`);
  }
  const r = run('insmod', args);
  if (r.missing) throw kmodError('insmod is not installed (apt-get install kmod)');
  if (r.status !== 0) throw kmodError(explainInsmod(r.out));
}

export function explainInsmod(out: string): string {
  if (/Key was rejected|Required key not available/i.test(out)) {
    return (
      'the kernel refused the unsigned module (Secure Boot or module signature enforcement): sign it with a key enrolled ' +
      'in MOK, or use --source procfs'
    );
  }
  if (/Operation not permitted/i.test(out)) {
    return 'the kernel refused to load the module (lockdown, or modules disabled via kernel.modules_disabled): use --source procfs';
  }
  if (/Invalid parameters|Invalid argument/i.test(out)) {
    return `the module rejected its parameters or failed to initialise; see dmesg: ${out}`;
  }
  if (/Invalid module format|Exec format error/i.test(out)) {
    return `the module was built for another kernel (${release()} is running): rebuild with loadmon kmod build`;
  }
  return `insmod failed: ${out}`;
}

export function unloadModule(): void {
  requireRoot('unloading a kernel module');
  if (!isLoaded()) throw kmodError(`${MODULE_NAME} is not loaded`);
  const r = run('rmmod', [MODULE_NAME]);
  if (r.missing) throw kmodError('rmmod is not installed (apt-get install kmod)');
  if (r.status !== 0) throw kmodError(`rmmod failed: ${r.out}`);
}

export interface KmodStatus {
  kernel: string;
  module_support: boolean;
  headers: string | null;
  built: boolean;
  loaded: boolean;
  params: Partial<Record<ParamName, string>>;
}

export function status(): KmodStatus {
  const params: Partial<Record<ParamName, string>> = {};
  if (isLoaded() && existsSync(PARAMS_DIR)) {
    for (const name of readdirSync(PARAMS_DIR) as ParamName[]) {
      const v = readParam(name);
      if (v !== null) params[name] = v;
    }
  }
  return {
    kernel: release(),
    module_support: moduleSupport(),
    headers: existsSync(join(defaultKdir(), 'Makefile')) ? defaultKdir() : null,
    built: existsSync(MODULE_KO),
    loaded: isLoaded(),
    params,
  };
}

/** Kernel's taint and module state line, for status output. */
export function moduleLine(): string | null {
  try {
    return (
      readFileSync('/proc/modules', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${MODULE_NAME} `)) ?? null
    );
  } catch {
    return null;
  }
}
