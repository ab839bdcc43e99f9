/**
 * Parser for /proc/diskstats (block/genhd.c diskstats_show). One line per
 * block device and partition:
 *
 *    254       0 vda 32181 7730 1723826 11361 26169 14223 2630280 7805 0 9840 20161 9291 36 324848 829 4014 165
 *
 * major, minor and name (the kernel pads major/minor with %4d %7d), then 11
 * fields on every kernel, 4 discard fields since 4.18 and 2 flush fields since
 * 5.5 (Documentation/admin-guide/iostats.rst). Missing trailing groups read as
 * 0: a kernel without discard counters did no discard we could count.
 *
 * The time fields are printed as unsigned int milliseconds (jiffies_to_msecs)
 * and wrap at 2^32; the caller treats a counter that went backwards as "no
 * figures for this window", which also covers a replaced device.
 */

export interface DiskCounters {
  major: number;
  minor: number;
  name: string;
  reads: number;
  sectorsRead: number;
  msReading: number;
  writes: number;
  sectorsWritten: number;
  msWriting: number;
  /** Requests in flight now: a gauge, not a counter. */
  inFlight: number;
  /** Milliseconds the device had I/O in flight. */
  ioTicks: number;
  /** Milliseconds of in-flight time summed over requests (iostat's aqu-sz numerator). */
  weightedMs: number;
  discards: number;
  msDiscarding: number;
  flushes: number;
  msFlushing: number;
}

/** Lines shorter than the 3 + 11 fields every kernel since 2.6.25 prints are skipped. */
const MIN_FIELDS = 14;

export function parseDiskstats(text: string): DiskCounters[] {
  const out: DiskCounters[] = [];
  for (const line of text.split('\n')) {
    const d = parseLine(line);
    if (d) out.push(d);
  }
  return out;
}

function parseLine(line: string): DiskCounters | null {
  const f = line.trim().split(/\s+/);
  if (f.length < MIN_FIELDS) return null;
  const n: number[] = [];
  for (let i = 0; i < f.length; i++) {
    if (i === 2) continue;
    const v = Number(f[i]);
    if (!Number.isInteger(v) || v < 0) return null;
    n.push(v);
  }
  // n holds every field but the name: n[0] major, n[1] minor, n[2..] the counters.
  const c = (k: number): number => n[k + 1] ?? 0; // k is the 1-based counter number of iostats.rst
  return {
    major: n[0]!,
    minor: n[1]!,
    name: f[2]!,
    reads: c(1),
    sectorsRead: c(3),
    msReading: c(4),
    writes: c(5),
    sectorsWritten: c(7),
    msWriting: c(8),
    inFlight: c(9),
    ioTicks: c(10),
    weightedMs: c(11),
    discards: c(12),
    msDiscarding: c(15),
    flushes: c(16),
    msFlushing: c(17),
  };
}

/** The cumulative fields (everything but inFlight), for the "went backwards" check. */
export const DISK_COUNTER_FIELDS = [
  'reads',
  'sectorsRead',
  'msReading',
  'writes',
  'sectorsWritten',
  'msWriting',
  'ioTicks',
  'weightedMs',
  'discards',
  'msDiscarding',
  'flushes',
  'msFlushing',
] as const satisfies ReadonlyArray<keyof DiskCounters>;
