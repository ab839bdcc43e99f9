/**
 * The wiring `watch` and `record` share: which collector captures, which
 * watcher decides when, and the eBPF collector's per-second tracking. The
 * commands only parse options and print; what runs is chosen here.
 */

import { bpfUnavailable } from '../bpf/availability.ts';
import type { BlockedTracking } from '../collect/bpf-tracking.ts';
import type { Collector } from '../collect/collector.ts';
import { bpfCollectorOf, openCollector, WATCH_NEEDS } from '../collect/select.ts';
import { LoadmonError, sourceUnavailable } from '../errors.ts';
import { resolveThreshold, type WatchOptions } from '../model/options.ts';
import { formatDuration } from '../model/time.ts';
import { countCpus } from '../procfs/cpus.ts';
import { readRequired } from '../procfs/reader.ts';
import { openKmodWatcher } from './kmod-watcher.ts';
import { LoadProbe } from './load-probe.ts';
import { ThresholdWatcher } from './procfs-watcher.ts';
import type { StatusLog, Watcher } from './watch.ts';

/** Refuses `--source bpf` now, not at the first capture (which may be hours away), when bpf cannot work here. */
export function checkBpfUsable(opts: WatchOptions): void {
  const bpfMissing = opts.source === 'bpf' ? bpfUnavailable() : null;
  if (bpfMissing !== null) throw sourceUnavailable('bpf', bpfMissing);
}

/** The collector `watch` and `record` capture with. */
export function openWatchCollector(opts: WatchOptions): Collector {
  return openCollector(opts.source, opts.procRoot, WATCH_NEEDS, {}, { profileMs: opts.profileMs ?? 0 });
}

/**
 * With the eBPF collector, `watch` and `record` sample every second through
 * its helper (R/D per process, the time blocked in D; each capture then says
 * what the D load was made of over the minute before it). `timer`: the
 * tracking samples by itself (watch), else the caller does (record). Null
 * without the eBPF collector, and for `auto` when the helper cannot start
 * (the collector then falls back to procfs at its first capture); `--source
 * bpf` fails here, before anything else starts. `warn` is told either way,
 * even with --quiet: a source other than the one expected is news.
 */
export async function startTracking(
  collector: Collector,
  opts: WatchOptions,
  timer: boolean,
  warn: StatusLog,
): Promise<BlockedTracking | null> {
  const bpf = bpfCollectorOf(collector);
  if (!bpf) return null;
  try {
    return await bpf.track(opts.depth, warn, timer);
  } catch (err) {
    if (opts.source === 'bpf' || !(err instanceof LoadmonError)) {
      collector.close();
      throw err;
    }
    warn(`the eBPF collector was not used (${err.fields.reason ?? err.message}); procfs is used instead`);
    return null;
  }
}

/** The watcher for `collector`: the module triggers by itself, the others by load1 against the threshold. */
export function openWatcher(opts: WatchOptions, log: StatusLog | null, collector: Collector = openWatchCollector(opts)): Watcher {
  if (collector.source === 'kmod') return openKmodWatcher(opts, log);
  const cpus = countCpus(readRequired(`${opts.procRoot}/stat`));
  const threshold = resolveThreshold(opts.threshold, cpus);
  const probe = new LoadProbe(`${opts.procRoot}/loadavg`);
  if (log) {
    const per = opts.threshold.perCpu ? ` (${opts.threshold.text} x ${cpus} CPUs)` : '';
    log(
      `watching load1 (now ${probe.load1().toFixed(2)}) for >= ${threshold}${per}, every ${formatDuration(opts.intervalMs)},` +
        ` cooldown ${formatDuration(opts.cooldownMs)}, source ${collector.source}; Ctrl-C stops`,
    );
  }
  return new ThresholdWatcher(collector, probe, {
    threshold,
    thresholdText: opts.threshold.text,
    cooldownMs: opts.cooldownMs,
    depth: opts.depth,
    intervalMs: opts.intervalMs,
    now: performance.now(),
    procRoot: opts.procRoot,
  });
}
