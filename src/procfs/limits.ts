/**
 * Size caps for what loadmon reads from a proc tree (docs/snapshot-schema.md,
 * "Limits"). --proc-root can name any directory, so every read is bounded
 * by what the kernel can write, with headroom; a file over its cap is not
 * what the kernel wrote and is treated as unreadable for that task (a note),
 * and strings are cut at parse time with a visible marker.
 */

/** Per-file read caps, in bytes. */
export const FILE_CAP = {
  /** /proc/PID/task/TID/stat: ~52 numeric fields (≤ ~1.1 KiB) and the raw comm (≤ 63 bytes). */
  stat: 4096,
  /** stack: at most 64 frames (the kernel's depth), each a symbol (KSYM_NAME_LEN 512) with offsets and a module name. */
  stack: 64 * 1024,
  /** wchan: one symbol name. */
  wchan: 4096,
  /** cgroup: one line per hierarchy, each path ≤ PATH_MAX (4096); 64 full lines. */
  cgroup: 256 * 1024,
  /** /proc/loadavg: one short line. */
  loadavg: 4096,
  /** /proc/pressure/*: two short lines (some, full). */
  pressure: 4096,
  /** Tables that grow with the machine (/proc/stat with thousands of CPUs and IRQs, diskstats, vmstat). */
  table: 16 * 1024 * 1024,
  /** /proc/load_monitor: keep × max_tasks × depth frames of the module (docs/kmod.md). */
  kmod: 256 * 1024 * 1024,
} as const;

/** TASK_COMM_LEN is 16; kernel threads' full names are at most 64 bytes (6.x). */
export const COMM_MAX_BYTES = 64;
/** PATH_MAX: the kernel refuses longer cgroup paths (ENAMETOOLONG). */
export const CGROUP_PATH_MAX_BYTES = 4096;
/** Longer than any kernel symbol with its offsets and a module name. */
export const FRAME_MAX_BYTES = 256;
/** The kernel's own stack depth for /proc/PID/stack (MAX_STACK_TRACE_DEPTH) and the --depth maximum. */
export const STACK_MAX_FRAMES = 64;

/** Appended to a string that was cut. */
export const TRUNCATED = '…';

/**
 * `s` cut to at most `max` bytes of UTF-8 (never inside a character), with
 * TRUNCATED appended when anything was cut.
 */
export function capBytes(s: string, max: number): string {
  // Fast path: a UTF-16 unit is at most 3 bytes of UTF-8.
  if (s.length * 3 <= max || Buffer.byteLength(s) <= max) return s;
  let bytes = 0;
  let end = 0;
  while (end < s.length) {
    const cp = s.codePointAt(end)!;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + size > max) break;
    bytes += size;
    end += cp >= 0x10000 ? 2 : 1;
  }
  return s.slice(0, end) + TRUNCATED;
}
