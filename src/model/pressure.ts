/** PSI figures of /proc/pressure/{cpu,io,memory} (parsed by src/procfs/pressure.ts). */

export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Cumulative stall time, microseconds. */
  totalUs: number;
}

export interface Pressure {
  /** Some tasks stalled on the resource. */
  some: PressureLine | null;
  /** All non-idle tasks stalled at once (null when the kernel does not report it). */
  full: PressureLine | null;
}

export type PressureResource = 'cpu' | 'io' | 'memory';
