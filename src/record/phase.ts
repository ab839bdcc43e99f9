/**
 * Where in each period the recorder samples. A sampler that wakes with
 * others (a second recorder, any tool that samples on the whole second)
 * would count them running at every sample -- R that the kernel's own
 * load-average ticks do not see. The native waiter takes the light rows at
 * the same phase (native/waiter.c rows_next()).
 */

/**
 * The fractional part of pid x the golden ratio, so that recorders with
 * neighbouring pids sample far apart; kept off the whole second (phase >= 5%
 * of the period).
 */
export function samplePhase(pid: number, periodMs: number): number {
  const frac = (pid * 0.6180339887498949) % 1;
  return Math.round(periodMs * (0.05 + 0.9 * frac));
}

/** Milliseconds from `nowMs` to the next instant k x period + phase (never 0: a full period at most). */
export function untilPhase(nowMs: number, periodMs: number, phase: number): number {
  const wait = (phase - (nowMs % periodMs) + periodMs) % periodMs;
  return wait === 0 ? periodMs : wait;
}
