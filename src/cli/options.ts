/**
 * Turns the raw option strings commander hands over into validated,
 * typed options. Every failure names the option and exits with status 2.
 */

import { invalidOption, LoadmonError } from '../errors.ts';
import type { CommonOptions, OutputFormat, SourceChoice, WatchOptions } from '../model/options.ts';
import { parseTriggerSpecs } from '../trigger/psi-spec.ts';
import { parseDuration, parseIntInRange, parseThreshold } from './parse-values.ts';

export const SOURCES: readonly SourceChoice[] = ['auto', 'procfs', 'kmod', 'bpf'];
export const FORMATS: readonly OutputFormat[] = ['text', 'seed', 'json'];

export interface RawCommon {
  depth?: string;
  json?: boolean;
  format?: string;
  source?: string;
  procRoot?: string;
  /** snapshot and watch: on-CPU sampling window of the bpf source. */
  profile?: string;
}

export interface RawWatch extends RawCommon {
  threshold?: string;
  interval?: string;
  cooldown?: string;
  count?: string;
  /** --trigger, repeatable. */
  trigger?: string[];
}

export const DEFAULTS = {
  threshold: '3',
  interval: '10ms',
  cooldown: '20s',
  depth: '20',
  source: 'auto',
  procRoot: '/proc',
} as const;

/** On-CPU sampling of `snapshot --source bpf` unless --profile says otherwise (docs/bpf.md). */
export const DEFAULT_BPF_SNAPSHOT_PROFILE_MS = 2000;
const MAX_PROFILE_MS = 60_000;

/** procfs prints at most 64 frames (the kernel's stack-dump limit); so does the module. */
export const MAX_DEPTH = 64;

export function parseCommon(raw: RawCommon): CommonOptions {
  const depth = parseIntInRange('--depth', raw.depth ?? DEFAULTS.depth, 0, MAX_DEPTH);
  let format: OutputFormat = 'text';
  if (raw.format !== undefined) {
    if (!(FORMATS as readonly string[]).includes(raw.format)) {
      throw invalidOption('--format', raw.format, `expected one of ${FORMATS.join(', ')}`);
    }
    format = raw.format as OutputFormat;
  }
  if (raw.json) {
    if (raw.format !== undefined && raw.format !== 'json') {
      throw new LoadmonError('E_INVALID_OPTION', `--json conflicts with --format ${raw.format}`);
    }
    format = 'json';
  }
  const source = raw.source ?? DEFAULTS.source;
  if (!(SOURCES as readonly string[]).includes(source)) {
    throw invalidOption('--source', source, `expected one of ${SOURCES.join(', ')}`);
  }
  const procRoot = raw.procRoot ?? DEFAULTS.procRoot;
  if (procRoot === '') throw invalidOption('--proc-root', procRoot, 'must be a directory');
  // `--profile 0` (no unit) turns sampling off.
  const profileMs =
    raw.profile === undefined ? null : raw.profile.trim() === '0' ? 0 : parseDuration('--profile', raw.profile, { allowZero: true });
  if (profileMs !== null && profileMs > MAX_PROFILE_MS) throw invalidOption('--profile', raw.profile!, 'at most 60s');
  return { depth, depthGiven: raw.depth !== undefined, format, source: source as SourceChoice, procRoot, profileMs };
}

export function parseWatch(raw: RawWatch): WatchOptions {
  const common = parseCommon(raw);
  return {
    ...common,
    threshold: parseThreshold('--threshold', raw.threshold ?? DEFAULTS.threshold),
    psiTriggers: parseTriggerSpecs(raw.trigger ?? []),
    intervalMs: parseDuration('--interval', raw.interval ?? DEFAULTS.interval),
    cooldownMs: parseDuration('--cooldown', raw.cooldown ?? DEFAULTS.cooldown, { allowZero: true }),
    count: raw.count === undefined ? undefined : parseIntInRange('--count', raw.count, 1, Number.MAX_SAFE_INTEGER),
    given: {
      threshold: raw.threshold !== undefined,
      interval: raw.interval !== undefined,
      cooldown: raw.cooldown !== undefined,
    },
  };
}
