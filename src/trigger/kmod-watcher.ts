/**
 * Watch with --source kmod: the module triggers by itself; we report each
 * new snapshot (by sequence number) as it appears. Options the user gave
 * explicitly are written to the module's parameters first.
 *
 * Re-reading /proc/load_monitor costs as much as the snapshots it holds (the
 * module symbolises every frame on each read), so on a live system we poll
 * the module's one-number `last_seq` parameter every --interval and read the
 * file only when it changed. A copy given with --proc-root has no such
 * parameter: it is re-read at most every KMOD_MIN_POLL_MS.
 */

import { availableParallelism } from 'node:os';

import { KmodCollector, kmodToSnapshot } from '../collect/kmod.ts';
import type { KmodSnapshot } from '../kmod/format.ts';
import { type ModuleParams, sysfsParams } from '../kmod/params.ts';
import { resolveThreshold, type WatchOptions } from '../model/options.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { formatDuration } from '../model/time.ts';
import type { StatusLog, Watcher } from './watch.ts';

export const KMOD_MIN_POLL_MS = 200;
/** How often last_seq is checked at most: the module already triggers at hrtimer precision. */
export const KMOD_SEQ_POLL_MS = 100;

/** `log` gets the status lines for people (null: --quiet). */
export function openKmodWatcher(opts: WatchOptions, log: StatusLog | null, params: ModuleParams = sysfsParams()): Watcher {
  const collector = new KmodCollector(opts.procRoot);
  const live = opts.procRoot.replace(/\/+$/, '') === '/proc';
  const existing = collector.readAll();
  if (live) applyGivenParams(opts, existing[existing.length - 1]?.cpus ?? availableParallelism(), log, params);
  const threshold = Number(params.read('threshold') ?? 'NaN');
  const cooldownS = Number(params.read('cooldown_s') ?? 'NaN');
  if (log) {
    log(
      `watching the load_monitor module's snapshots (threshold ${params.read('threshold') ?? '?'},` +
        ` interval ${params.read('interval_ms') ?? '?'}ms, cooldown ${params.read('cooldown_s') ?? '?'}s),` +
        ` checking for new ones every ${formatDuration(Math.max(opts.intervalMs, live ? KMOD_SEQ_POLL_MS : KMOD_MIN_POLL_MS))}; ` +
        `Ctrl-C stops`,
    );
  }
  const seqProbe = live ? () => params.read('last_seq') : null;
  return new KmodWatcher(collector, existing[existing.length - 1]?.seq ?? 0, opts, threshold, cooldownS, seqProbe);
}

/**
 * Writes to the module only the options the user typed (`opts.given`): the
 * others keep what `kmod load` (or an earlier write) set. `cpus` resolves a
 * per-CPU threshold: the module's own count when it has captured.
 */
export function applyGivenParams(opts: WatchOptions, cpus: number, log: StatusLog | null, params: ModuleParams): void {
  if (opts.given.threshold) {
    params.write('threshold', String(Math.round(resolveThreshold(opts.threshold, cpus) * 100) / 100));
  }
  if (opts.given.interval) params.write('interval_ms', String(Math.min(opts.intervalMs, 10_000)));
  if (opts.given.cooldown) params.write('cooldown_s', String(Math.ceil(opts.cooldownMs / 1000)));
  // depth sizes the module's buffers, so it is fixed at load time: stacks are cut here instead.
  const moduleDepth = Number(params.read('depth'));
  if (opts.depthGiven && log && opts.depth > moduleDepth) {
    log(`the module keeps ${moduleDepth} frames per task (set at load time: loadmon kmod load --depth N)`);
  }
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
    private readonly seqProbe: (() => string | null) | null,
  ) {}

  /** True when the module may have a snapshot we have not reported. */
  private changed(nowMs: number): boolean {
    const seq = this.seqProbe?.();
    if (seq !== undefined && seq !== null) return Number(seq) > this.lastSeq;
    if (nowMs - this.lastPoll < KMOD_MIN_POLL_MS) return false;
    this.lastPoll = nowMs;
    return true;
  }

  nextDelay(): number {
    if (this.queue.length > 0) return 0;
    return Math.max(this.opts.intervalMs, this.seqProbe ? KMOD_SEQ_POLL_MS : KMOD_MIN_POLL_MS);
  }

  poll(nowMs: number): Snapshot | null {
    if (this.queue.length === 0 && this.changed(nowMs)) {
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
