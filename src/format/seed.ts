/**
 * The seed module's dmesg layout, line for line (the article's final
 * main.c): a banner of 30 '!', "Load: a, b, c", the R tasks, then the D
 * tasks, each task line followed by its frames as stack_trace_print() prints
 * them (one space, then the symbol). The seed printed the kernel's
 * task->pid, which is the thread id. Comms and frames are escaped
 * (escape.ts): the seed printed them raw into the kernel log, a terminal
 * must not get them raw.
 */

import type { Snapshot, TaskSample } from '../model/snapshot.ts';
import { escapeText } from './escape.ts';

export function formatSeed(s: Snapshot): string {
  const out: string[] = [];
  out.push('!'.repeat(30));
  out.push(`Load: ${s.loadavg.load1.toFixed(2)}, ${s.loadavg.load5.toFixed(2)}, ${s.loadavg.load15.toFixed(2)}`);
  out.push('dump running task.');
  for (const t of s.tasks) if (t.state === 'R') pushTask(out, 'running task', t);
  out.push('dump uninterrupted task.');
  for (const t of s.tasks) if (t.state === 'D') pushTask(out, 'uninterrupted task', t);
  return `${out.join('\n')}\n`;
}

function pushTask(out: string[], label: string, t: TaskSample): void {
  out.push(`${label}, comm: ${escapeText(t.comm)}, pid ${t.tid}`);
  for (const f of t.stack) out.push(` ${escapeText(f)}`);
}
