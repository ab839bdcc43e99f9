import type { BlockedTracking } from '../../collect/bpf-tracking.ts';
import type { Collector } from '../../collect/collector.ts';
import { bpfCollectorOf, openCollector, WATCH_NEEDS } from '../../collect/select.ts';
import { countCpus } from '../../procfs/cpus.ts';
import { render } from '../../format/index.ts';
import { readRequired } from '../../procfs/reader.ts';
import { LoadProbe } from '../../trigger/load-probe.ts';
import { ThresholdWatcher } from '../../trigger/procfs-watcher.ts';
import { runWatch, type Watcher } from '../../trigger/watch.ts';
import { bpfUnavailable } from '../../bpf/availability.ts';
import { LoadmonError, sourceUnavailable } from '../../errors.ts';
import { parseWatch, type RawWatch, type WatchOptions } from '../options.ts';
import { formatDuration, resolveThreshold } from '../parse-values.ts';
import { info, write } from '../output.ts';
import { stopping } from '../shutdown.ts';
import { openKmodWatcher } from '../../kmod/watcher.ts';

export async function watchCommand(raw: RawWatch & { quiet?: boolean }): Promise<void> {
  const opts = parseWatch(raw);
  // Say now, not at the first capture (which may be hours away), that bpf cannot work here.
  const bpfMissing = opts.source === 'bpf' ? bpfUnavailable() : null;
  if (bpfMissing !== null) throw sourceUnavailable('bpf', bpfMissing);
  const collector = openWatchCollector(opts);
  await startTracking(collector, opts, true);
  const watcher = openWatcher(opts, raw.quiet ?? false, collector);
  await runWatch(watcher, { intervalMs: opts.intervalMs, count: opts.count, signal: stopping }, (s) => {
    write(render(s, opts.format, true));
    if (opts.format !== 'json') write('\n');
  });
}

/**
 * With the eBPF collector, `watch` and `record` sample every second through
 * its helper (R/D per process, the time blocked in D; each capture then says
 * what the D load was made of over the minute before it). `timer`: the
 * tracking samples by itself (watch), else the caller does (record). Null
 * without the eBPF collector, and for `auto` when the helper cannot start
 * (the collector then falls back to procfs at its first capture); `--source
 * bpf` fails here, before anything else starts.
 */
export async function startTracking(collector: Collector, opts: WatchOptions, timer: boolean): Promise<BlockedTracking | null> {
  const bpf = bpfCollectorOf(collector);
  if (!bpf) return null;
  try {
    return await bpf.track(opts.depth, info, timer);
  } catch (err) {
    if (opts.source === 'bpf' || !(err instanceof LoadmonError)) {
      collector.close();
      throw err;
    }
    info(`the eBPF collector was not used (${err.message.replace(/^source 'bpf' is not available: /, '')}); procfs is used instead`);
    return null;
  }
}

/** The collector `watch` and `record` capture with. */
export function openWatchCollector(opts: WatchOptions): Collector {
  return openCollector(opts.source, opts.procRoot, WATCH_NEEDS, {}, { profileMs: opts.profileMs ?? 0 });
}

export function openWatcher(opts: WatchOptions, quiet: boolean, collector: Collector = openWatchCollector(opts)): Watcher {
  if (collector.source === 'kmod') return openKmodWatcher(opts, quiet);
  const cpus = countCpus(readRequired(`${opts.procRoot}/stat`));
  const threshold = resolveThreshold(opts.threshold, cpus);
  const probe = new LoadProbe(`${opts.procRoot}/loadavg`);
  if (!quiet) {
    const per = opts.threshold.perCpu ? ` (${opts.threshold.text} x ${cpus} CPUs)` : '';
    info(
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
