/** `loadmon kmod build|load|unload|status`: manage the load_monitor kernel module. */

import { availableParallelism } from 'node:os';

import { invalidOption } from '../../errors.ts';
import { buildModule, defaultKdir, type LoadParams, loadModule, MODULE_KO, moduleLine, status, unloadModule } from '../../kmod/control.ts';
import { info, write } from '../output.ts';
import { parseDuration, parseIntInRange, parseThreshold, resolveThreshold } from '../parse-values.ts';

export function kmodBuildCommand(o: { kdir?: string }): void {
  const { ko } = buildModule(o.kdir ?? defaultKdir());
  info(`built ${ko}`);
}

export interface RawKmodLoad {
  ko?: string;
  threshold?: string;
  interval?: string;
  cooldown?: string;
  depth?: string;
  maxTasks?: string;
  keep?: string;
  printk?: boolean;
}

export function parseLoadParams(o: RawKmodLoad): LoadParams {
  const p: LoadParams = {};
  if (o.threshold !== undefined) {
    const spec = parseThreshold('--threshold', o.threshold);
    p.threshold = String(Math.round(resolveThreshold(spec, availableParallelism()) * 100) / 100);
  }
  if (o.interval !== undefined) {
    const ms = parseDuration('--interval', o.interval);
    if (ms > 10_000) throw invalidOption('--interval', o.interval, 'the module checks at most every 10s');
    p.interval_ms = ms;
  }
  if (o.cooldown !== undefined) {
    const ms = parseDuration('--cooldown', o.cooldown, { allowZero: true });
    if (ms % 1000 !== 0) throw invalidOption('--cooldown', o.cooldown, 'the module counts the cooldown in whole seconds');
    p.cooldown_s = ms / 1000;
  }
  if (o.depth !== undefined) p.depth = parseIntInRange('--depth', o.depth, 1, 64);
  if (o.maxTasks !== undefined) p.max_tasks = parseIntInRange('--max-tasks', o.maxTasks, 1, 65536);
  if (o.keep !== undefined) p.keep = parseIntInRange('--keep', o.keep, 1, 64);
  if (o.printk) p.printk = true;
  return p;
}

export function kmodLoadCommand(o: RawKmodLoad): void {
  const params = parseLoadParams(o);
  loadModule(params, o.ko ?? MODULE_KO);
  info(`loaded load_monitor; snapshots appear in /proc/load_monitor (loadmon watch --source kmod)`);
}

export function kmodUnloadCommand(): void {
  unloadModule();
  info('unloaded load_monitor');
}

export function kmodStatusCommand(o: { json?: boolean }): void {
  const s = status();
  if (o.json) {
    write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  const lines = [
    `kernel:          ${s.kernel}`,
    `module support:  ${s.moduleSupport ? 'yes' : 'no (CONFIG_MODULES is off: only --source procfs works here)'}`,
    `kernel headers:  ${s.headers ?? `not found at ${defaultKdir()}`}`,
    `module built:    ${s.built ? MODULE_KO : 'no (loadmon kmod build)'}`,
    `module loaded:   ${s.loaded ? `yes  ${moduleLine() ?? ''}`.trimEnd() : 'no'}`,
  ];
  for (const [k, v] of Object.entries(s.params)) lines.push(`  ${k.padEnd(12)} ${v}`);
  write(`${lines.join('\n')}\n`);
}
