/** The module's run-time parameters under /sys/module/load_monitor/parameters. */

import { readFileSync, writeFileSync } from 'node:fs';

import { isDenied, kmodError } from '../errors.ts';

export const PARAMS_DIR = '/sys/module/load_monitor/parameters';

export type ParamName = 'threshold' | 'interval_ms' | 'cooldown_s' | 'depth' | 'max_tasks' | 'keep' | 'printk' | 'last_seq';

export function readParam(name: ParamName, dir = PARAMS_DIR): string | null {
  try {
    return readFileSync(`${dir}/${name}`, 'utf8').trim();
  } catch {
    return null;
  }
}

export function writeParam(name: ParamName, value: string, dir = PARAMS_DIR): void {
  try {
    writeFileSync(`${dir}/${name}`, value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (isDenied(err)) throw kmodError(`cannot set ${name}: writing module parameters needs root`);
    if (code === 'EINVAL') throw kmodError(`the module rejected ${name}=${value} (out of range)`);
    if (code === 'ENOENT') throw kmodError(`the module has no parameter ${name} (is load_monitor loaded?)`);
    throw kmodError(`cannot set ${name}=${value}: ${(err as Error).message}`);
  }
}

/** Reading and writing the parameters: sysfs, or a fake in tests. */
export interface ModuleParams {
  read(name: ParamName): string | null;
  write(name: ParamName, value: string): void;
}

export function sysfsParams(dir = PARAMS_DIR): ModuleParams {
  return { read: (name) => readParam(name, dir), write: (name, value) => writeParam(name, value, dir) };
}
