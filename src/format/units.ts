/**
 * How the human formats write the figures they share, so that a capture's
 * text and `loadmon top` print the same load per CPU and the same blocked
 * time for the same value.
 */

/** A load average per CPU, 2 decimals as /proc/loadavg has them; `?` when the CPU count is unknown (0). */
export function perCpu(load: number, cpus: number): string {
  return cpus > 0 ? (load / cpus).toFixed(2) : '?';
}

/**
 * Time blocked in D, ms: `12.3ms` below a second, `2.3s` from there. One
 * decimal in both ranges: a measured blockage under half a millisecond is
 * not `0ms`. The switch is decided on the rounded value, so 999.96 ms is
 * `1.0s`, never `1000.0ms`.
 */
export function blockedMs(ms: number): string {
  const tenths = Math.round(ms * 10) / 10;
  return tenths >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${tenths.toFixed(1)}ms`;
}
