import { hostname } from 'node:os';

import { resolveThreshold } from '../../model/options.ts';
import { formatDuration } from '../../model/time.ts';
import { countCpus } from '../../procfs/cpus.ts';
import { readRequired } from '../../procfs/reader.ts';
import { BpfScan } from '../../record/bpf-scan.ts';
import { ROW_BATCH } from '../../record/pacer.ts';
import { runRecorder } from '../../record/recorder.ts';
import { openWatchCollector, openWatcher, startTracking, waiterOf } from '../../trigger/open.ts';
import { LOW_LOAD_SHARE } from '../../trigger/procfs-watcher.ts';
import { checkPsiTriggers, withPsiTriggers } from '../../trigger/psi-trigger.ts';
import { info } from '../output.ts';
import { stopping } from '../shutdown.ts';
import { parseRecord, type RawRecord } from '../store-options.ts';

export async function recordCommand(raw: RawRecord): Promise<void> {
  await runRecordLoop(raw, stopping);
}

/**
 * The record loop as `loadmon record` runs it (serve --record runs it too),
 * until `signal`; `onStarted` once the store is open and locked.
 */
export async function runRecordLoop(raw: RawRecord, signal: AbortSignal, onStarted?: () => void): Promise<number> {
  const opts = parseRecord(raw);
  const cpus = countCpus(readRequired(`${opts.procRoot}/stat`));
  const threshold = resolveThreshold(opts.threshold, cpus);
  const status = opts.quiet ? null : info;
  checkPsiTriggers(opts.psiTriggers, opts.procRoot);
  const collector = openWatchCollector(opts);
  const tracking = await startTracking(collector, opts, false, info);
  const scan = tracking ? new BpfScan(tracking) : null;
  const loadWatcher = openWatcher(opts, status, collector);
  // Below half the threshold the waiter the watcher sleeps on also takes the timeline's rows
  // (bpf: one tracking read per batch, on its last row).
  const rows = waiterOf(loadWatcher);
  const watcher = await withPsiTriggers(loadWatcher, opts, status);
  // One level for the scans, the waiter's rows and its hush (procfs-watcher.ts).
  const level = threshold * LOW_LOAD_SHARE;
  const scanAbove = scan ? 0 : level;
  const what = scan
    ? `R/D per process at every sample${rows ? ` while load1 >= ${level}, once per ${ROW_BATCH} rows below` : ''}` +
      `${scan.tracksOffcpu ? ', time blocked in D per stack' : ''}`
    : `R/D per process while load1 >= ${scanAbove}${opts.cpuBudgetPct === null ? '' : `, within --cpu-budget ${opts.cpuBudgetPct}%`}`;

  return runRecorder(watcher, {
    scan: scan ?? undefined,
    rows,
    rowsBelow: level,
    cpuBudgetPct: opts.cpuBudgetPct,
    db: opts.db,
    procRoot: opts.procRoot,
    sampleMs: opts.sampleMs,
    intervalMs: opts.intervalMs,
    count: opts.count,
    policy: { retainMs: opts.retainMs, maxBytes: opts.maxBytes },
    session: {
      startedMs: Date.now(),
      host: hostname(),
      pid: process.pid,
      cpus,
      source: collector.source,
      threshold,
      thresholdSpec: opts.threshold.text,
      scanAbove,
      sampleMs: opts.sampleMs,
    },
    signal,
    status,
    warn: info,
    onStarted: () => {
      // Said once the store is ours: a refused store (another recorder) prints only the refusal.
      status?.(
        `recording into ${opts.db}: a sample every ${formatDuration(opts.sampleMs)} (${what}),` +
          ` captures at load1 >= ${threshold}; retention ${Math.round(opts.retainMs / 3_600_000)}h / ${opts.maxBytes} bytes`,
      );
      onStarted?.();
    },
  });
}
