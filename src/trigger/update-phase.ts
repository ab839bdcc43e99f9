/**
 * When to read /proc/loadavg next.
 *
 * The kernel recomputes the load averages once per LOAD_FREQ (5 s + 1 tick)
 * and never in between, so reading them every 10 ms, as the seed does, finds
 * the same numbers 499 times out of 500. In kernel space that is free; from
 * user space each wakeup costs ~100 µs of CPU on a VM (an empty Node
 * setInterval at 10 ms measured 1.07% of a core here). So we learn the
 * update phase from the first change we see and then read every `interval`
 * only in a window around each expected update, and every IDLE_MS otherwise
 * as a safety net (tickless idle can delay an update; the phase is re-learnt
 * at every change). A change is detected within `interval` of the update,
 * as with constant polling, at about a tenth of the wakeups.
 */

/** LOAD_FREQ in the kernel: 5*HZ+1 ticks. The extra tick is within the window margin. */
export const LOAD_FREQ_MS = 5000;

export interface PhaseOptions {
  /** How early before the expected update the fast window opens. */
  marginMs?: number;
  /** Read interval outside the fast windows. */
  idleMs?: number;
  /** How long to read at the fast interval while no update was ever seen. */
  searchMs?: number;
}

export class UpdatePhase {
  private readonly marginMs: number;
  private readonly idleMs: number;
  private readonly searchMs: number;
  private last: string | null = null;
  private lastReadAt: number | null = null;
  /** Earliest time the last observed update can have happened. */
  private phase: number | null = null;
  /** How late after `phase` the update may have been (the read gap). */
  private slack = 0;
  private readonly startedAt: number;

  constructor(
    private readonly intervalMs: number,
    now: number,
    opts: PhaseOptions = {},
  ) {
    // The update comes LOAD_FREQ (5 s + 1 tick) after the last one, from the
    // tick, so once the phase is known it drifts by a tick per period and is
    // re-learnt at each change: 50 ms covers that with room. (150 ms cost
    // ~0.05% of a core more on this VM for nothing.) An update outside the
    // window -- tickless idle can delay one -- is caught by the idle reads.
    this.marginMs = opts.marginMs ?? 50;
    this.idleMs = opts.idleMs ?? 250;
    this.searchMs = opts.searchMs ?? LOAD_FREQ_MS + 1000;
    this.startedAt = now;
  }

  /** Records one read of the load averages (their text); true when they changed. */
  observe(loads: string, now: number): boolean {
    const changed = this.last !== null && loads !== this.last;
    if (changed) {
      this.phase = this.lastReadAt ?? now;
      this.slack = now - this.phase;
    }
    this.last = loads;
    this.lastReadAt = now;
    return changed;
  }

  /**
   * An update another reader saw (the native waiter): the averages became
   * `loads` (LoadProbe's text) between `atMs - gapMs` and `atMs`. The phase
   * stays learnt while Node does not read around the updates itself, so a
   * fallback to Node's reads starts phase-locked.
   */
  learn(loads: string, atMs: number, gapMs: number): void {
    this.phase = atMs - gapMs;
    this.slack = gapMs;
    this.last = loads;
    this.lastReadAt = atMs;
  }

  /** Milliseconds until the next read should happen. */
  nextDelay(now: number): number {
    if (this.intervalMs >= this.idleMs) return this.intervalMs;
    if (this.phase === null) return now - this.startedAt < this.searchMs ? this.intervalMs : this.idleMs;
    // The next expected update at or after the start of the current window.
    const periods = Math.max(1, Math.ceil((now - this.phase - this.slack - this.marginMs) / LOAD_FREQ_MS));
    const expected = this.phase + periods * LOAD_FREQ_MS;
    const open = expected - this.marginMs;
    const close = expected + this.slack + this.marginMs;
    if (now >= open && now <= close) return this.intervalMs;
    return Math.max(this.intervalMs, Math.min(this.idleMs, open - now));
  }
}
