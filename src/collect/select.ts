/**
 * Chooses the collector for --source: `procfs`, `kmod`, or `auto` (the
 * module when /proc/load_monitor exists, procfs otherwise).
 */

import { existsSync } from 'node:fs';

import type { SourceChoice } from '../cli/options.ts';
import type { Collector } from './collector.ts';
import { KmodCollector, kmodPath } from './kmod.ts';
import { ProcfsCollector, type ProcfsCollectorOptions } from './procfs.ts';

export function resolveSource(choice: SourceChoice, procRoot: string): 'procfs' | 'kmod' {
  if (choice !== 'auto') return choice;
  return existsSync(kmodPath(procRoot)) ? 'kmod' : 'procfs';
}

/** `procfs` tunes the procfs collector (how details are read) when that is the one chosen. */
export function openCollector(choice: SourceChoice, procRoot: string, procfs: Omit<ProcfsCollectorOptions, 'procRoot'> = {}): Collector {
  return resolveSource(choice, procRoot) === 'kmod' ? new KmodCollector(procRoot) : new ProcfsCollector({ ...procfs, procRoot });
}
