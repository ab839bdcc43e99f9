/**
 * `loadmon check`: a monitoring plugin (Nagios, Icinga, Zabbix, Sensu). One
 * status line on stdout and the plugin exit status (src/analyze/check.ts).
 * Every failure -- a bad option, a missing store, a recorder that stopped,
 * the --timeout expiring -- is UNKNOWN (exit 3) with loadmon's usual
 * message, never exit 1 or 2, which a monitoring system would read as
 * WARNING or CRITICAL.
 *
 * Bounded: the live look is one procfs capture whose stack reads run in a
 * child process killed after LOADMON_DETAIL_TIMEOUT_MS (3 s); the stored
 * look reads one period of the store (SQLite waits at most 2 s for a lock).
 * --timeout (10 s) bounds the whole, answering UNKNOWN when it expires.
 */

import { availableParallelism } from 'node:os';

import { captureVerdict } from '../../analyze/capture-verdict.ts';
import { type CheckInput, type CheckResult, checkResult, unknownResult } from '../../analyze/check.ts';
import { buildReport } from '../../analyze/report.ts';
import { ProcfsCollector } from '../../collect/procfs.ts';
import { invalidOption, LoadmonError, optionError, storeStale } from '../../errors.ts';
import { resolveThreshold, type ThresholdSpec } from '../../model/options.ts';
import { readFailure } from '../../store/damage.ts';
import { notAStoreFile } from '../../store/path.ts';
import { StoreReader } from '../../store/reader.ts';
import { write } from '../output.ts';
import { parseTimePoint } from '../parse-store-values.ts';
import { parseDuration, parseThreshold } from '../parse-values.ts';

/**
 * Load per CPU 1: every CPU has one task running or waiting for it (more is a
 * queue); 2: twice that, which the verdict calls severe saturation.
 */
export const CHECK_DEFAULTS = { warning: '1/cpu', critical: '2/cpu', since: '5m', timeout: '10s' } as const;
/** Stack frames read per task in the live look: enough to classify, few to read. */
const LIVE_DEPTH = 20;
const MAX_TIMEOUT_MS = 10 * 60_000;

export interface RawCheck {
  warning?: string;
  critical?: string;
  db?: string;
  since?: string;
  timeout?: string;
}

export interface CheckOptions {
  warning: ThresholdSpec;
  critical: ThresholdSpec;
  db: string | null;
  since: number;
  timeoutMs: number;
}

export function parseCheck(raw: RawCheck, nowMs = Date.now()): CheckOptions {
  const warning = parseThreshold('--warning', raw.warning ?? CHECK_DEFAULTS.warning);
  const critical = parseThreshold('--critical', raw.critical ?? CHECK_DEFAULTS.critical);
  if (warning.perCpu === critical.perCpu && critical.value < warning.value) {
    throw invalidOption('--critical', critical.text, `is below --warning ${warning.text}`);
  }
  const timeoutMs = parseDuration('--timeout', raw.timeout ?? CHECK_DEFAULTS.timeout);
  if (timeoutMs > MAX_TIMEOUT_MS) throw invalidOption('--timeout', raw.timeout!, 'must be at most 10m');
  let db: string | null = null;
  if (raw.db !== undefined) {
    const why = raw.db.trim() === '' ? 'must be a file path' : notAStoreFile(raw.db);
    if (why !== null) throw invalidOption('--db', raw.db, why);
    db = raw.db;
  }
  return { warning, critical, db, since: parseTimePoint('--since', raw.since ?? CHECK_DEFAULTS.since, nowMs), timeoutMs };
}

export async function checkCommand(raw: RawCheck): Promise<void> {
  let res: CheckResult;
  try {
    const opts = parseCheck(raw);
    res = await withDeadline(opts.timeoutMs, () => (opts.db === null ? liveCheck(opts) : storedCheck(opts, opts.db)));
  } catch (err) {
    res = unknownResult(messageOf(err));
  }
  write(`${res.line}\n`);
  process.exitCode = res.exitCode;
}

/** The check's result, or UNKNOWN when it is not there within `ms` (the work left is abandoned). */
export async function withDeadline(ms: number, work: () => Promise<CheckResult>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve(unknownResult(`no answer within --timeout ${ms / 1000}s`)), ms);
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function thresholds(opts: CheckOptions, cpus: number): Pick<CheckInput, 'warning' | 'critical'> {
  return { warning: resolveThreshold(opts.warning, cpus), critical: resolveThreshold(opts.critical, cpus) };
}

/** One procfs capture now, and its own verdict. */
async function liveCheck(opts: CheckOptions): Promise<CheckResult> {
  const collector = new ProcfsCollector({ details: 'child' });
  try {
    const snap = await collector.capture({ depth: LIVE_DEPTH });
    const r = snap.tasks.filter((t) => t.state === 'R').length;
    return checkResult({
      ...snap.loadavg,
      cpus: snap.cpus,
      r,
      d: snap.tasks.length - r,
      verdict: captureVerdict(0, snap),
      ...thresholds(opts, snap.cpus),
    });
  } finally {
    collector.close();
  }
}

/** The recorded verdict of the period, and the newest sample's load (which must lie in the period). */
async function storedCheck(opts: CheckOptions, db: string): Promise<CheckResult> {
  let store: StoreReader;
  try {
    store = StoreReader.open(db);
  } catch (err) {
    // Said like loadmon's other commands: the path came from --db.
    throw optionError(err, '--db');
  }
  try {
    const latest = store.latestSample();
    if (latest === null || latest.t < opts.since) throw storeStale(db, opts.since, latest?.t ?? null);
    const report = buildReport(store, { since: opts.since, until: null, top: 5 });
    const cpus = report.cpus ?? availableParallelism();
    return checkResult({
      load1: latest.load1,
      load5: latest.load5,
      load15: latest.load15,
      cpus,
      r: latest.r ?? report.load?.mean_r ?? null,
      d: latest.d ?? report.load?.mean_d ?? null,
      verdict: report.verdict,
      ...thresholds(opts, cpus),
    });
  } catch (err) {
    throw err instanceof LoadmonError ? err : readFailure(db, err);
  } finally {
    store.close();
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
