/** `loadmon kmod build|load|unload|status`: manage the load_monitor kernel module. */

import { availableParallelism } from 'node:os';

import { bpfUnavailable } from '../../bpf/availability.ts';
import { invalidOption } from '../../errors.ts';
import {
  buildModule,
  defaultKdir,
  type KmodStatus,
  type LoadParams,
  loadModule,
  MODULE_KO,
  moduleLine,
  status,
  unloadModule,
} from '../../kmod/control.ts';
import { resolveThreshold } from '../../model/options.ts';
import type { SourceName } from '../../model/snapshot.ts';
import { info, write } from '../output.ts';
import { parseDuration, parseIntInRange, parseThreshold } from '../parse-values.ts';

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
  const bpfWhyNot = bpfUnavailable();
  if (o.json) {
    write(`${JSON.stringify({ ...s, sources: workingSources(s, bpfWhyNot) }, null, 2)}\n`);
    return;
  }
  write(kmodStatusText(s, bpfWhyNot, defaultKdir(), s.loaded ? moduleLine() : null));
}

/**
 * The sources that can capture on this machine now, in the order `auto`
 * prefers them: the module only once loaded, procfs always, bpf when
 * `bpfWhyNot` (availability.ts: why it cannot work) is null.
 */
export function workingSources(s: KmodStatus, bpfWhyNot: string | null): SourceName[] {
  const out: SourceName[] = [];
  if (s.loaded) out.push('kmod');
  out.push('procfs');
  if (bpfWhyNot === null) out.push('bpf');
  return out;
}

/** `kmod status` as text: every line true for this machine, bpf's availability injected. */
export function kmodStatusText(s: KmodStatus, bpfWhyNot: string | null, kdir: string, modLine: string | null = null): string {
  let sources = workingSources(s, bpfWhyNot).join(', ');
  if (s.module_support && !s.loaded) {
    sources += s.built ? ' (kmod once loaded: loadmon kmod load)' : ' (kmod once built and loaded: loadmon kmod build, loadmon kmod load)';
  }
  const lines = [
    `kernel:          ${s.kernel}`,
    `module support:  ${s.module_support ? 'yes' : 'no: not supported by this kernel (CONFIG_MODULES off)'}`,
    `kernel headers:  ${s.headers ?? `not found at ${kdir}`}`,
    `module built:    ${s.built ? MODULE_KO : s.module_support ? 'no (loadmon kmod build)' : 'no'}`,
    `module loaded:   ${s.loaded ? `yes  ${modLine ?? ''}`.trimEnd() : 'no'}`,
  ];
  for (const [k, v] of Object.entries(s.params)) lines.push(`  ${k.padEnd(12)} ${v}`);
  if (bpfWhyNot !== null) lines.push(`bpf:             not usable: ${bpfWhyNot}`);
  lines.push(`sources that work here: ${sources}`);
  return `${lines.join('\n')}\n`;
}
