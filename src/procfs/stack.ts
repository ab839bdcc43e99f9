/**
 * Parser for /proc/PID/task/TID/stack: one frame a line, innermost first,
 * each "[<addr>] symbol+0xoff/0xsize" where the address is zeroed ("[<0>]")
 * unless kptr_restrict allows more. We keep only the symbol text: kernel
 * addresses are never printed by loadmon. At most STACK_MAX_FRAMES frames of
 * at most FRAME_MAX_BYTES each (limits.ts).
 */

import { capBytes, FRAME_MAX_BYTES, STACK_MAX_FRAMES } from './limits.ts';

export function parseStack(text: string, depth: number): string[] {
  const frames: string[] = [];
  const max = Math.min(depth, STACK_MAX_FRAMES);
  let start = 0;
  while (start < text.length && frames.length < max) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const frame = stripAddress(text.slice(start, end).trim());
    // No kernel symbol is this long: a crafted tree's line is cut, visibly.
    if (frame !== '') frames.push(capBytes(frame, FRAME_MAX_BYTES));
    start = end + 1;
  }
  return frames;
}

function stripAddress(line: string): string {
  if (line.startsWith('[<')) {
    const close = line.indexOf('>]');
    if (close >= 0) return line.slice(close + 2).trim();
  }
  return line;
}

/** "kernel_clone+0x1af/0x3e0" -> "kernel_clone"; keeps a " [module]" suffix. */
export function normalizeFrame(frame: string): string {
  return frame.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/i, '');
}

/**
 * The mark of a scheduler or lock frame that /proc/PID/stack would hide
 * (`__sched` text: `rwsem_down_write_slowpath`, `io_schedule`, …) but that a
 * stack taken at sched_switch (--source bpf) keeps: "io_schedule+0x42/0x70 [sched]".
 * It reads like a module suffix, so frameSymbol() and normalizeFrame() keep working.
 */
export const SCHED_FRAME_MARK = ' [sched]';

export function isSchedFrame(frame: string): boolean {
  return frame.endsWith(SCHED_FRAME_MARK);
}
