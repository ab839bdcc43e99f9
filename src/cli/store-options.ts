/** Options of `record` and `report`, validated (exit 2 naming the option on any mistake). */

import { invalidOption, LoadmonError } from '../errors.ts';
import type { WatchOptions } from '../model/options.ts';
import { notAStoreFile } from '../store/path.ts';
import { parseWatch, type RawWatch } from './options.ts';
import { parseAge, parseSize, parseTimePoint } from './parse-store-values.ts';
import { parseDuration, parseIntInRange } from './parse-values.ts';

export const DEFAULT_DB = '/var/lib/loadmon/loadmon.db';

export const RECORD_DEFAULTS = {
  db: DEFAULT_DB,
  sample: '1s',
  retain: '7d',
  maxSize: '256MiB',
  cpuBudget: '1',
} as const;

/** The smallest store worth having: the schema plus a few minutes of samples. */
export const MIN_STORE_BYTES = 64 * 1024;

export interface RawRecord extends RawWatch {
  db?: string;
  sample?: string;
  retain?: string;
  maxSize?: string;
  cpuBudget?: string;
  quiet?: boolean;
}

export interface RecordOptions extends WatchOptions {
  db: string;
  sampleMs: number;
  retainMs: number;
  maxBytes: number;
  /** Percent of one core the procfs light scans may use on average; null: `off`. */
  cpuBudgetPct: number | null;
  quiet: boolean;
}

export function parseRecord(raw: RawRecord): RecordOptions {
  const watch = parseWatch(raw);
  if (watch.format !== 'text') throw invalidOption('--format', watch.format, 'record stores captures; read them with loadmon report');
  const db = checkDb(raw.db ?? RECORD_DEFAULTS.db);
  const sampleMs = parseDuration('--sample', raw.sample ?? RECORD_DEFAULTS.sample);
  if (sampleMs < 100) throw invalidOption('--sample', raw.sample ?? '', 'must be at least 100ms');
  return {
    ...watch,
    db,
    sampleMs,
    retainMs: parseAge('--retain', raw.retain ?? RECORD_DEFAULTS.retain),
    maxBytes: parseSize('--max-size', raw.maxSize ?? RECORD_DEFAULTS.maxSize, MIN_STORE_BYTES),
    cpuBudgetPct: parseCpuBudget(raw.cpuBudget ?? RECORD_DEFAULTS.cpuBudget),
    quiet: raw.quiet ?? false,
  };
}

/**
 * --cpu-budget: percent of one core, "1" or "1%" or "0.5"; "off" scans every
 * due sample whatever it costs. At least 0.01%: below that a scan would run
 * less often than once per MAX_STRIDE samples anyway.
 */
export function parseCpuBudget(raw: string): number | null {
  const text = raw.trim().toLowerCase();
  if (text === 'off') return null;
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*%?$/.exec(text);
  if (!m) {
    const why = text.startsWith('-') ? 'must not be negative' : "expected a percent of one core such as 1 or 0.5%, or 'off'";
    throw invalidOption('--cpu-budget', raw, why);
  }
  const pct = Number(m[1]);
  if (pct < 0.01 || pct > 100) throw invalidOption('--cpu-budget', raw, 'must be between 0.01 and 100 (percent of one core)');
  return pct;
}

/** --db names a regular file or nothing yet (a device or directory would be mangled by SQLite). */
export function checkDb(db: string): string {
  if (db.trim() === '') throw invalidOption('--db', db, 'must be a file path');
  const why = notAStoreFile(db);
  if (why !== null) throw invalidOption('--db', db, why);
  return db;
}

export type ReportFormat = 'text' | 'json' | 'folded' | 'speedscope' | 'svg' | 'seed' | 'pprof';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'folded', 'speedscope', 'svg', 'seed', 'pprof'];

export interface RawReport {
  db?: string;
  since?: string;
  until?: string;
  capture?: string;
  format?: string;
  json?: boolean;
  out?: string;
  top?: string;
}

export interface ReportOptions {
  db: string;
  /** Inclusive bounds, ms since the epoch; null: from the first / to the last thing stored. */
  since: number | null;
  until: number | null;
  capture: number | null;
  format: ReportFormat;
  out: string | null;
  top: number;
}

export function parseReport(raw: RawReport, nowMs = Date.now()): ReportOptions {
  let format: ReportFormat = 'text';
  if (raw.format !== undefined) {
    if (!(REPORT_FORMATS as readonly string[]).includes(raw.format)) {
      throw invalidOption('--format', raw.format, `expected one of ${REPORT_FORMATS.join(', ')}`);
    }
    format = raw.format as ReportFormat;
  }
  if (raw.json) {
    if (raw.format !== undefined && raw.format !== 'json')
      throw new LoadmonError('E_INVALID_OPTION', `--json conflicts with --format ${raw.format}`);
    format = 'json';
  }
  const capture = raw.capture === undefined ? null : parseIntInRange('--capture', raw.capture, 1, Number.MAX_SAFE_INTEGER);
  if (format === 'seed' && capture === null) throw invalidOption('--format', 'seed', 'the seed layout shows one capture: add --capture ID');
  const since = raw.since === undefined ? null : parseTimePoint('--since', raw.since, nowMs);
  const until = raw.until === undefined ? null : parseTimePoint('--until', raw.until, nowMs);
  if (since !== null && until !== null && until < since) throw invalidOption('--until', raw.until!, 'is before --since');
  const db = checkDb(raw.db ?? DEFAULT_DB);
  if (raw.out !== undefined && raw.out.trim() === '') throw invalidOption('--out', raw.out, 'must be a file path');
  return {
    db,
    since,
    until,
    capture,
    format,
    out: raw.out ?? null,
    top: parseIntInRange('--top', raw.top ?? '10', 1, 1000),
  };
}
