/** /proc/PID/task/TID/wchan: a symbol name, or "0"/empty when not sleeping. */
export function parseWchan(text: string): string | null {
  const s = text.trim();
  return s === '' || s === '0' ? null : s;
}
