/**
 * The validated options of the capturing commands, as the layers below the
 * CLI receive them: src/cli/options.ts parses the command line into these
 * (and words every refusal); collectors, formats and watchers only read them.
 */

import type { PressureResource } from './pressure.ts';

export type OutputFormat = 'text' | 'seed' | 'json';
export type SourceChoice = 'procfs' | 'kmod' | 'bpf' | 'auto';

/** Absolute ("3", "1.5") or per-CPU ("0.75/cpu") load threshold. */
export interface ThresholdSpec {
  value: number;
  perCpu: boolean;
  /** The text the user gave, normalised. */
  text: string;
}

export interface CommonOptions {
  depth: number;
  /** True when --depth was given (the kmod source then writes it to the module). */
  depthGiven: boolean;
  format: OutputFormat;
  source: SourceChoice;
  procRoot: string;
  /** --profile in ms, or null when not given (each command picks its default). */
  profileMs: number | null;
}

/** A PSI trigger, `--trigger psi:io:some:150ms/1s` (parsed by src/trigger/psi-spec.ts). */
export interface PsiTriggerSpec {
  resource: PressureResource;
  kind: 'some' | 'full';
  /** Stall time within the window that fires, microseconds (the kernel's unit). */
  stallUs: number;
  windowUs: number;
  /** The spec as the user gave it, for messages. */
  text: string;
}

export interface WatchOptions extends CommonOptions {
  threshold: ThresholdSpec;
  /** Triggers beside the load rule (which always applies); empty: none. */
  psiTriggers: PsiTriggerSpec[];
  intervalMs: number;
  cooldownMs: number;
  count: number | undefined;
  given: { threshold: boolean; interval: boolean; cooldown: boolean };
}

/** The absolute load1 threshold for a machine with `cpus` CPUs. */
export function resolveThreshold(spec: ThresholdSpec, cpus: number): number {
  return spec.perCpu ? spec.value * cpus : spec.value;
}
