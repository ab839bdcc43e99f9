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
import { LOW_LOAD_SHARE, ThresholdWatcher } from './procfs-watcher.ts';
import { WaiterClient, waiterPath } from './waiter.ts';
import type { StatusLog, Watcher } from './watch.ts';

/** watch's self-sampling tracking per collector, whose pace the watcher sets (startTracking -> openWatcher). */
const timedTracking = new WeakMap<Collector, BlockedTracking>();

/** The waiter a load watcher sleeps on, which the PSI triggers share (psi-trigger.ts); the watcher closes it. */
const watcherWaiters = new WeakMap<Watcher, WaiterClient>();

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
    const tracking = await bpf.track(opts.depth, warn, timer);
    if (timer) timedTracking.set(collector, tracking);
    return tracking;
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
  // The waiter wakes the loop once per load update; without it (LOADMON_WAITER=off, or it fails: said
  // through `log`) Node polls /proc/loadavg around each expected update, as before.
  const path = waiterPath();
  const waiter = path === null ? null : new WaiterClient({ path, procRoot: opts.procRoot, intervalMs: opts.intervalMs });
  // The eBPF tracking samples every second at or above half the threshold, below it on the waiter's
  // heartbeat (every 30 s): one wake-up for both.
  const tracking = timedTracking.get(collector);
  const watcher = new ThresholdWatcher(collector, probe, {
    threshold,
    thresholdText: opts.threshold.text,
    cooldownMs: opts.cooldownMs,
    depth: opts.depth,
    intervalMs: opts.intervalMs,
    now: performance.now(),
    procRoot: opts.procRoot,
    waiter,
    log,
    ...(tracking ? { onLoad: (load1: number) => tracking.pace(load1, threshold * LOW_LOAD_SHARE) } : {}),
  });
  if (waiter) watcherWaiters.set(watcher, waiter);
  return watcher;
}

/** The waiter openWatcher gave `watcher`: none for the module, or with LOADMON_WAITER=off. */
export function waiterOf(watcher: Watcher): WaiterClient | null {
  return watcherWaiters.get(watcher) ?? null;
}
