import { capBytes, FRAME_MAX_BYTES } from './limits.ts';

/** /proc/PID/task/TID/wchan: a symbol name, or "0"/empty when not sleeping. Cut like a stack frame. */
export function parseWchan(text: string): string | null {
  const s = text.trim();
  return s === '' || s === '0' ? null : capBytes(s, FRAME_MAX_BYTES);
}
