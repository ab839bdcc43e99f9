/**
 * The validated options of the capturing commands, as the layers below the
 * CLI receive them: src/cli/options.ts parses the command line into these
 * (and words every refusal); collectors, formats and watchers only read them.
 */

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

export interface WatchOptions extends CommonOptions {
  threshold: ThresholdSpec;
  intervalMs: number;
  cooldownMs: number;
  count: number | undefined;
  given: { threshold: boolean; interval: boolean; cooldown: boolean };
}

/** The absolute load1 threshold for a machine with `cpus` CPUs. */
export function resolveThreshold(spec: ThresholdSpec, cpus: number): number {
  return spec.perCpu ? spec.value * cpus : spec.value;
}
