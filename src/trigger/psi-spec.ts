/**
 * `--trigger` values: `load` (the load rule, which always applies) or a PSI
 * trigger `psi:<cpu|io|memory>:<some|full>:<stall>/<window>`, checked against
 * the limits the kernel enforces (Documentation/accounting/psi.rst,
 * kernel/sched/psi.c psi_trigger_create) so a mistake exits 2 at start rather
 * than as the kernel's bare EINVAL. Pure: the capability and /proc/pressure
 * checks that need the machine are in psi-trigger.ts.
 */

import { invalidOption } from '../errors.ts';
import type { PsiTriggerSpec } from '../model/options.ts';
import type { PressureResource } from '../model/pressure.ts';

export const TRIGGER_OPTION = '--trigger';
const RESOURCES: readonly PressureResource[] = ['cpu', 'io', 'memory'];
/** The kernel's WINDOW_MIN_US and WINDOW_MAX_US. */
export const PSI_WINDOW_MIN_US = 500_000;
export const PSI_WINDOW_MAX_US = 10_000_000;
/** Each trigger holds an open file and a line in the waiter; a handful is plenty. */
export const MAX_PSI_TRIGGERS = 8;

const UNIT_US: Record<string, number> = { us: 1, ms: 1000, s: 1_000_000 };
const SHAPE = 'expected load or psi:<cpu|io|memory>:<some|full>:<stall>/<window>, e.g. psi:io:some:150ms/1s';

/** "150ms", "1s", "500000us" -> whole microseconds; null when not a duration with a unit. */
export function parsePsiDuration(raw: string): number | null {
  const m = /^(\d+(?:\.\d+)?|\.\d+)(us|ms|s)$/.exec(raw);
  if (!m) return null;
  const us = Number(m[1]) * UNIT_US[m[2]!]!;
  return Number.isInteger(us) ? us : null;
}

/** One --trigger value; null for `load` (always on). Throws E_INVALID_OPTION naming --trigger. */
export function parseTriggerSpec(raw: string): PsiTriggerSpec | null {
  const text = raw.trim().toLowerCase();
  if (text === 'load') return null;
  const parts = text.split(':');
  if (parts.length !== 4 || parts[0] !== 'psi') throw invalidOption(TRIGGER_OPTION, raw, SHAPE);
  const [, resource, kind, times] = parts as [string, string, string, string];
  const bad = (why: string) => invalidOption(TRIGGER_OPTION, raw, why);
  if (!(RESOURCES as readonly string[]).includes(resource)) throw bad(`unknown resource '${resource}': use cpu, io or memory`);
  if (kind !== 'some' && kind !== 'full') throw bad(`unknown kind '${kind}': use some or full`);
  // The system-wide cpu "full" line is always zero (the kernel reports it for cgroups): it would never fire.
  if (resource === 'cpu' && kind === 'full') throw bad('cpu full is always 0 system-wide and never fires: use psi:cpu:some');
  const [stallUs, windowUs] = stallAndWindow(times, bad);
  return { resource: resource as PressureResource, kind, stallUs, windowUs, text };
}

function stallAndWindow(times: string, bad: (why: string) => Error): [number, number] {
  const pair = times.split('/');
  const durations = pair.length === 2 ? pair.map(parsePsiDuration) : [null, null];
  const [stallUs, windowUs] = durations as [number | null, number | null];
  if (stallUs === null || windowUs === null) {
    throw bad('expected <stall>/<window> as durations with a unit us, ms or s, in whole microseconds, e.g. 150ms/1s');
  }
  if (windowUs < PSI_WINDOW_MIN_US || windowUs > PSI_WINDOW_MAX_US) throw bad('the window must be between 500ms and 10s');
  if (stallUs === 0) throw bad('the stall time must be greater than zero');
  if (stallUs > windowUs) throw bad('the stall time must not exceed the window');
  return [stallUs, windowUs];
}

/** Every --trigger value (the option repeats): the PSI triggers, without duplicates, at most MAX_PSI_TRIGGERS. */
export function parseTriggerSpecs(raws: readonly string[]): PsiTriggerSpec[] {
  const out: PsiTriggerSpec[] = [];
  for (const raw of raws) {
    const spec = parseTriggerSpec(raw);
    if (spec === null) continue;
    if (out.some((s) => sameTrigger(s, spec))) throw invalidOption(TRIGGER_OPTION, raw, 'given twice');
    out.push(spec);
  }
  if (out.length > MAX_PSI_TRIGGERS) throw invalidOption(TRIGGER_OPTION, raws.join(' '), `at most ${MAX_PSI_TRIGGERS} PSI triggers`);
  return out;
}

function sameTrigger(a: PsiTriggerSpec, b: PsiTriggerSpec): boolean {
  return a.resource === b.resource && a.kind === b.kind && a.stallUs === b.stallUs && a.windowUs === b.windowUs;
}
