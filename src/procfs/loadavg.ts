/** Parser for /proc/loadavg: "0.52 0.58 0.59 2/1234 5678". */

import type { LoadAvg } from '../model/snapshot.ts';

export class LoadavgParseError extends Error {}

export function parseLoadavg(text: string): LoadAvg {
  const f = text.trim().split(/\s+/);
  const [l1, l5, l15, ratio] = f;
  const load1 = Number(l1);
  const load5 = Number(l5);
  const load15 = Number(l15);
  if (f.length < 3 || ![load1, load5, load15].every((n) => Number.isFinite(n) && n >= 0)) {
    throw new LoadavgParseError(`not a loadavg line: ${JSON.stringify(text.slice(0, 80))}`);
  }
  let runnable: number | null = null;
  let threads: number | null = null;
  const m = ratio === undefined ? null : /^(\d+)\/(\d+)$/.exec(ratio);
  if (m) {
    runnable = Number(m[1]);
    threads = Number(m[2]);
  }
  return { load1, load5, load15, runnable, threads };
}

/**
 * Cheap load1 extraction for the watch loop, which runs 100 times a second:
 * parse only the first field, straight from the bytes.
 */
export function parseLoad1(buf: Uint8Array, len: number): number {
  let int = 0;
  let frac = 0;
  let scale = 1;
  let i = 0;
  let seen = false;
  for (; i < len; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    int = int * 10 + (c - 48);
    seen = true;
  }
  if (i < len && buf[i] === 46 /* . */) {
    for (i++; i < len; i++) {
      const c = buf[i]!;
      if (c < 48 || c > 57) break;
      frac = frac * 10 + (c - 48);
      scale *= 10;
      seen = true;
    }
  }
  if (!seen) return Number.NaN;
  return int + frac / scale;
}
