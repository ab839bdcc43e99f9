import type { Snapshot } from '../model/snapshot.ts';

/** One snapshot as JSON: indented for `snapshot`, one line for `watch` (NDJSON). */
export function formatJson(s: Snapshot, oneLine: boolean): string {
  return `${oneLine ? JSON.stringify(s) : JSON.stringify(s, null, 2)}\n`;
}
