import { hostname } from 'node:os';

import { resolveSource } from '../../collect/select.ts';
import { countCpus } from '../../procfs/cpus.ts';
import { readRequired } from '../../procfs/reader.ts';
import { runRecorder } from '../../record/recorder.ts';
import { info } from '../output.ts';
import { stopping } from '../shutdown.ts';
import { formatDuration, resolveThreshold } from '../parse-values.ts';
import { parseRecord, type RawRecord } from '../store-options.ts';
import { openWatcher } from './watch.ts';

export async function recordCommand(raw: RawRecord): Promise<void> {
  await runRecordLoop(raw, stopping);
}

/** The record loop as `loadmon record` runs it (serve --record runs it too), until `signal`. */
export function runRecordLoop(raw: RawRecord, signal: AbortSignal): Promise<number> {
  const opts = parseRecord(raw);
  const cpus = countCpus(readRequired(`${opts.procRoot}/stat`));
  const threshold = resolveThreshold(opts.threshold, cpus);
  const status = opts.quiet ? null : info;
  const watcher = openWatcher(opts, opts.quiet);
  status?.(
    `recording into ${opts.db}: a sample every ${formatDuration(opts.sampleMs)} (R/D per process while load1 >= ${threshold / 2}),` +
      ` captures at load1 >= ${threshold}; retention ${Math.round(opts.retainMs / 3_600_000)}h / ${opts.maxBytes} bytes`,
  );
  return runRecorder(watcher, {
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
      source: resolveSource(opts.source, opts.procRoot),
      threshold,
      thresholdSpec: opts.threshold.text,
      scanAbove: threshold / 2,
      sampleMs: opts.sampleMs,
    },
    signal,
    status,
    warn: info,
  });
}
