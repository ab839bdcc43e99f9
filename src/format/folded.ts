/**
 * Brendan Gregg's collapsed ("folded") stacks: one line per distinct stack,
 * `comm;outermost;...;innermost count`, the input of flamegraph.pl, speedscope,
 * and loadmon's own SVG renderer. Each task observation in a capture counts 1.
 * A task with no kernel stack (running on a CPU) gets one pseudo-frame naming
 * its state, so R load shows in the graph too.
 */

import type { Snapshot } from '../model/snapshot.ts';
import { normalizeFrame } from '../procfs/stack.ts';
import { escapeComm } from './escape.ts';

export interface FoldedStack {
  /** Outermost first; the first element is the comm. */
  frames: string[];
  count: number;
}

export function foldSnapshots(snapshots: Iterable<Snapshot>): FoldedStack[] {
  const m = new Map<string, FoldedStack>();
  for (const s of snapshots) {
    for (const t of s.tasks) {
      const inner = t.stack.length > 0 ? t.stack.map((f) => cleanFrame(normalizeFrame(f.trim()))).reverse() : [`[${t.state}: no kernel stack]`];
      const frames = [cleanFrame(escapeComm(t.comm)), ...inner];
      const key = frames.join(';');
      const f = m.get(key);
      if (f) f.count++;
      else m.set(key, { frames, count: 1 });
    }
  }
  return [...m.values()].sort((a, b) => (a.frames.join(';') < b.frames.join(';') ? -1 : 1));
}

/** ';' separates frames and a line ends at '\n': neither may appear inside one. */
function cleanFrame(f: string): string {
  return f.replace(/;/g, ':').replace(/[\r\n]/g, ' ');
}

export function formatFolded(stacks: readonly FoldedStack[]): string {
  return stacks.map((s) => `${s.frames.join(';')} ${s.count}\n`).join('');
}

/** Parses collapsed lines back (the count is after the last space). */
export function parseFolded(text: string): FoldedStack[] {
  const out: FoldedStack[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const sp = line.lastIndexOf(' ');
    const count = Number(line.slice(sp + 1));
    if (sp < 0 || !Number.isFinite(count)) continue;
    out.push({ frames: line.slice(0, sp).split(';'), count });
  }
  return out;
}
