/**
 * Brendan Gregg's collapsed ("folded") stacks: one line per distinct stack,
 * `comm;outermost;...;innermost count`, the input of flamegraph.pl, speedscope,
 * and loadmon's own SVG renderer. Each task observation in a capture counts 1.
 * A task with no kernel stack (running on a CPU) gets one pseudo-frame naming
 * its state, so R load shows in the graph too. An R task sampled by the eBPF
 * collector's profile window has a user-space stack: its frames come first
 * (outermost first), each marked with the `_[u]` suffix, then its kernel
 * frames, if any (unmarked, as in every other stack). Every name is escaped
 * (escape.ts): folded text goes to terminals and into flamegraph.pl, and the
 * SVG and speedscope renderings take their names from here.
 */

import type { Snapshot } from '../model/snapshot.ts';
import { normalizeFrame } from '../procfs/stack.ts';
import { escapeText } from './escape.ts';
import { USER_MARK } from './flame-tree.ts';

export interface FoldedStack {
  /** Outermost first; the first element is the comm. */
  frames: string[];
  count: number;
}

export function foldSnapshots(snapshots: Iterable<Snapshot>): FoldedStack[] {
  const m = new Map<string, FoldedStack>();
  for (const s of snapshots) {
    for (const t of s.tasks) {
      const kernel = t.stack.map((f) => cleanFrame(escapeText(normalizeFrame(f.trim())))).reverse();
      const user = (t.user_stack ?? []).map((f) => `${cleanFrame(escapeText(normalizeFrame(f.trim())))}${USER_MARK}`).reverse();
      const inner = kernel.length + user.length > 0 ? [...user, ...kernel] : [`[${escapeText(t.state)}: no kernel stack]`];
      const frames = [cleanFrame(escapeText(t.comm)), ...inner];
      const key = frames.join(';');
      const f = m.get(key);
      if (f) f.count++;
      else m.set(key, { frames, count: 1 });
    }
  }
  return [...m.values()].sort((a, b) => (a.frames.join(';') < b.frames.join(';') ? -1 : 1));
}

/** ';' separates frames; line breaks are already escaped (escapeText). */
function cleanFrame(f: string): string {
  return f.replace(/;/g, ':');
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
