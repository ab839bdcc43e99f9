/**
 * Turns the raw option strings commander hands over into validated,
 * typed options. Every failure names the option and exits with status 2.
 */

import { LoadmonError, invalidOption } from '../errors.ts';
import {
  parseDuration,
  parseIntInRange,
  parseThreshold,
  type ThresholdSpec,
} from './parse-values.ts';

export type OutputFormat = 'text' | 'seed' | 'json';
export type SourceChoice = 'procfs' | 'kmod' | 'auto';

export const SOURCES: readonly SourceChoice[] = ['auto', 'procfs', 'kmod'];
export const FORMATS: readonly OutputFormat[] = ['text', 'seed', 'json'];

export interface RawCommon {
  depth?: string;
  json?: boolean;
  format?: string;
  source?: string;
  procRoot?: string;
}

export interface RawWatch extends RawCommon {
  threshold?: string;
  interval?: string;
  cooldown?: string;
  count?: string;
}

export interface CommonOptions {
  depth: number;
  /** True when --depth was given (the kmod source then writes it to the module). */
  depthGiven: boolean;
  format: OutputFormat;
  source: SourceChoice;
  procRoot: string;
}

export interface WatchOptions extends CommonOptions {
  threshold: ThresholdSpec;
  intervalMs: number;
  cooldownMs: number;
  count: number | undefined;
  given: { threshold: boolean; interval: boolean; cooldown: boolean };
}

export const DEFAULTS = {
  threshold: '3',
  interval: '10ms',
  cooldown: '20s',
  depth: '20',
  source: 'auto',
  procRoot: '/proc',
} as const;

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
  return { depth, depthGiven: raw.depth !== undefined, format, source: source as SourceChoice, procRoot };
}

export function parseWatch(raw: RawWatch): WatchOptions {
  const common = parseCommon(raw);
  return {
    ...common,
    threshold: parseThreshold('--threshold', raw.threshold ?? DEFAULTS.threshold),
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
