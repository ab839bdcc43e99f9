/**
 * Watch with --source kmod: the module triggers by itself; we report each
 * new snapshot (by sequence number) as it appears. Options the user gave
 * explicitly are written to the module's parameters first.
 *
 * Re-reading /proc/load_monitor costs as much as the snapshots it holds, so
 * it is polled at most every KMOD_MIN_POLL_MS whatever --interval says; the
 * module itself checks the load at its own interval_ms.
 */

import { availableParallelism } from 'node:os';

import type { WatchOptions } from '../cli/options.ts';
import { formatDuration, resolveThreshold } from '../cli/parse-values.ts';
import { info } from '../cli/output.ts';
import { KmodCollector, kmodToSnapshot } from '../collect/kmod.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { Watcher } from '../trigger/watch.ts';
import type { KmodSnapshot } from './format.ts';
import { readParam, writeParam } from './params.ts';

export const KMOD_MIN_POLL_MS = 200;

export function openKmodWatcher(opts: WatchOptions, quiet: boolean): Watcher {
  const collector = new KmodCollector(opts.procRoot);
  const live = opts.procRoot.replace(/\/+$/, '') === '/proc';
  const existing = collector.readAll();
  if (live) applyParams(opts, existing[existing.length - 1]?.cpus);
  const threshold = Number(readParam('threshold') ?? 'NaN');
  const cooldownS = Number(readParam('cooldown_s') ?? 'NaN');
  if (!quiet) {
    info(
      `watching the load_monitor module's snapshots (threshold ${readParam('threshold') ?? '?'},` +
        ` interval ${readParam('interval_ms') ?? '?'}ms, cooldown ${readParam('cooldown_s') ?? '?'}s),` +
        ` polling every ${formatDuration(Math.max(opts.intervalMs, KMOD_MIN_POLL_MS))}; Ctrl-C stops`,
    );
  }
  return new KmodWatcher(collector, existing[existing.length - 1]?.seq ?? 0, opts, threshold, cooldownS);
}

function applyParams(opts: WatchOptions, cpus: number | undefined): void {
  if (opts.given.threshold) {
    const n = cpus ?? availableParallelism();
    writeParam('threshold', String(resolveThreshold(opts.threshold, n)));
  }
  if (opts.given.interval) writeParam('interval_ms', String(opts.intervalMs));
  if (opts.given.cooldown) writeParam('cooldown_s', String(Math.ceil(opts.cooldownMs / 1000)));
  if (opts.depthGiven) writeParam('depth', String(opts.depth));
}

class KmodWatcher implements Watcher {
  private readonly queue: KmodSnapshot[] = [];
  private lastPoll = Number.NEGATIVE_INFINITY;
  private captures = 0;

  constructor(
    private readonly collector: KmodCollector,
    private lastSeq: number,
    private readonly opts: WatchOptions,
    private readonly threshold: number,
    private readonly cooldownS: number,
  ) {}

  poll(nowMs: number): Snapshot | null {
    if (this.queue.length === 0 && nowMs - this.lastPoll >= KMOD_MIN_POLL_MS) {
      this.lastPoll = nowMs;
      for (const k of this.collector.readAll()) {
        if (k.seq > this.lastSeq) this.queue.push(k);
      }
      if (this.queue.length > 0) this.lastSeq = this.queue[this.queue.length - 1]!.seq;
    }
    const k = this.queue.shift();
    if (!k) return null;
    this.captures++;
    return kmodToSnapshot(
      k,
      {
        reason: 'load1>=threshold',
        threshold: this.threshold,
        threshold_spec: Number.isFinite(this.threshold) ? String(this.threshold) : '?',
        load1: k.load1,
        cooldown_ms: Number.isFinite(this.cooldownS) ? this.cooldownS * 1000 : 0,
        capture_index: this.captures,
      },
      this.opts.depth,
    );
  }

  close(): void {}
}
