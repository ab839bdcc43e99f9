/**
 * The seed's trigger rule, with an injectable clock: capture when load1 is at
 * or above the threshold and at least `cooldownMs` has passed since the last
 * capture. The first check may fire immediately.
 */

import type { Trigger } from '../model/snapshot.ts';

export class CaptureGate {
  private lastCapture = Number.NEGATIVE_INFINITY;

  constructor(
    readonly threshold: number,
    readonly cooldownMs: number,
  ) {}

  /** True when a capture should be taken now; records it as taken. */
  check(load1: number, nowMs: number): boolean {
    if (!(load1 >= this.threshold)) return false;
    return this.take(nowMs);
  }

  /**
   * For a trigger other than the load (a PSI event): only the cooldown
   * applies, the same one, so all triggers together capture at most once per
   * cooldown. True when the capture may be taken now; records it as taken.
   */
  take(nowMs: number): boolean {
    if (nowMs - this.lastCapture < this.cooldownMs) return false;
    this.lastCapture = nowMs;
    return true;
  }

  /** Milliseconds until the cooldown allows another capture (0 when it does). */
  cooldownLeft(nowMs: number): number {
    return Math.max(0, this.lastCapture + this.cooldownMs - nowMs);
  }
}

/** The trigger of a capture the load rule took (watch, record, top): as the snapshot says it. */
export function loadRuleTrigger(gate: CaptureGate, thresholdSpec: string, load1: number, captureIndex: number): Trigger {
  return {
    reason: 'load1>=threshold',
    threshold: gate.threshold,
    threshold_spec: thresholdSpec,
    load1,
    cooldown_ms: gate.cooldownMs,
    capture_index: captureIndex,
  };
}
