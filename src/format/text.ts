/**
 * The human format: a header (when, load, CPUs, R/D counts, cost), then the
 * tasks grouped by identical stack, most common first, each group listing
 * its processes and threads.
 */

import { captureVerdict } from '../analyze/capture-verdict.ts';
import { countStates, groupByStack, type StackGroup } from '../analyze/group.ts';
import type { BlockedRecent, Snapshot, TaskSample, Trigger } from '../model/snapshot.ts';
import { formatDuration } from '../model/time.ts';
import { escapeText } from './escape.ts';
import { captureEvidence, chainLines } from './evidence-text.ts';
import { blockedMs, perCpu } from './units.ts';

/** Process lines shown per group before "... and N more". */
const MAX_PROCESSES_PER_GROUP = 12;

export function formatText(s: Snapshot): string {
  const out: string[] = [];
  const { R, D } = countStates(s.tasks);
  const la = s.loadavg;
  // Host, source and time too: a capture read back from a copied store carries whatever it was given.
  out.push(escapeText(`loadmon ${s.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}  host ${s.host}  source ${s.source}`));
  out.push(
    `load average: ${la.load1.toFixed(2)} ${la.load5.toFixed(2)} ${la.load15.toFixed(2)}` +
      `  cpus: ${s.cpus}  load1/cpu: ${perCpu(la.load1, s.cpus)}`,
  );
  out.push(
    `tasks: ${R} R (running or runnable), ${D} D (uninterruptible)` +
      `  scanned ${s.capture.threads_scanned} threads in ${s.capture.ms} ms` +
      (s.capture.dropped ? `  (${s.capture.dropped} not stored)` : ''),
  );
  if (s.trigger) out.push(triggerLine(s.trigger));
  if (s.tasks.length === 0) out.push('', 'no task is running, runnable or in uninterruptible sleep');
  for (const g of groupByStack(s.tasks)) {
    out.push('');
    formatGroup(out, g);
  }
  if (s.blocked_recent) formatBlockedRecent(out, s.blocked_recent);
  if (s.evidence) out.push(...captureEvidence(s.evidence));
  if (s.tasks.length > 0) formatVerdict(out, s);
  if (s.notes.length > 0) {
    out.push('', 'notes:');
    // Notes quote paths and the helper's errors.
    for (const n of s.notes) out.push(`  - ${escapeText(n)}`);
  }
  return `${out.join('\n')}\n`;
}

/** The verdict of this capture alone, as the dashboard shows it (the report's covers a period). */
function formatVerdict(out: string[], s: Snapshot): void {
  out.push('', 'verdict (this capture alone):');
  // Each line's text cites its evidence; the sections above list it whole.
  for (const v of captureVerdict(0, s)) out.push(`  - ${v.text}`);
}

/** bpf in watch/record: what the D load was made of over the minute before the capture. */
function formatBlockedRecent(out: string[], b: BlockedRecent): void {
  out.push(
    '',
    `time blocked in D over the last ${Math.round(b.window_ms / 1000)} s (measured): a mean of ${b.mean_d.toFixed(2)} threads in D` +
      (b.stacks.length ? '; largest first:' : ''),
  );
  for (const x of b.stacks) {
    out.push(
      `  ${blockedMs(x.blocked_ms).padStart(8)}  ${String(x.ended).padStart(5)} ended  pid ${x.pid} ${escapeText(x.comm)}  ` +
        `${
          x.stack.length
            ? x.stack
                .slice(0, 5)
                .map((f) => escapeText(functionName(f)))
                .join(' <- ')
            : '(no kernel stack)'
        }`,
    );
  }
  for (const c of b.chains ?? []) out.push(...chainLines(c, '  '));
}

/** Why the capture was taken: the load rule, or a PSI trigger's kernel event (with the load beside it). */
function triggerLine(t: Trigger): string {
  if (t.reason === 'psi' && t.psi) {
    const p = t.psi;
    const [stall, window] = [formatDuration(p.stall_ms), formatDuration(p.window_ms)];
    const spec = escapeText(`psi:${p.resource}:${p.kind}:${stall}/${window}`);
    const what = escapeText(`${p.resource} ${p.kind}`);
    const load = `load1 ${t.load1.toFixed(2)}, threshold ${escapeText(t.threshold_spec)}`;
    return `trigger: PSI event ${spec} (${what} stall >= ${stall} within ${window}; ${load}; capture #${t.capture_index})`;
  }
  return `trigger: load1 ${t.load1.toFixed(2)} >= threshold ${escapeText(t.threshold_spec)} (capture #${t.capture_index})`;
}

function formatGroup(out: string[], g: StackGroup): void {
  const what = g.state === 'D' ? 'uninterruptible (D)' : 'running/runnable (R)';
  const where = g.stack.length > 0 ? `in ${escapeText(functionName(g.stack[0]!))}` : 'no kernel stack';
  out.push(`${g.tasks.length} ${g.tasks.length === 1 ? 'task' : 'tasks'} ${what}, ${where}`);
  for (const f of g.stack) out.push(`    ${escapeText(f)}`);
  const byProcess = new Map<number, TaskSample[]>();
  for (const t of g.tasks) {
    const list = byProcess.get(t.pid);
    if (list) list.push(t);
    else byProcess.set(t.pid, [t]);
  }
  const procs = [...byProcess.values()].sort((a, b) => b.length - a.length || a[0]!.pid - b[0]!.pid);
  for (const threads of procs.slice(0, MAX_PROCESSES_PER_GROUP)) {
    const first = threads[0]!;
    const tids = threads.map((t) => t.tid).join(',');
    const comms = [...new Set(threads.map((t) => escapeText(t.comm)))].join(',');
    const cg = first.cgroup ? `  cgroup ${escapeText(first.cgroup)}` : '';
    out.push(`  pid ${first.pid} ${comms}  tid ${tids}${cg}${blockedFor(threads)}`);
    // bpf with a profile window: what the R threads were running in user space.
    for (const t of threads) {
      if (!t.user_stack?.length) continue;
      out.push(`    tid ${t.tid} user stack (${t.samples ?? 0} samples): ${t.user_stack.map(escapeText).join(' <- ')}`);
    }
  }
  if (procs.length > MAX_PROCESSES_PER_GROUP) {
    out.push(`  ... and ${procs.length - MAX_PROCESSES_PER_GROUP} more processes (--format json lists all)`);
  }
}

/** bpf: how long the D threads have been off CPU (the longest, and the shortest if they differ). */
function blockedFor(threads: TaskSample[]): string {
  const ms = threads.flatMap((t) => (t.blocked_ms === undefined ? [] : [t.blocked_ms]));
  if (ms.length === 0) return '';
  const lo = Math.min(...ms);
  const hi = Math.max(...ms);
  const fmt = (x: number): string => (x >= 10_000 ? `${Math.round(x / 1000)}s` : `${(x / 1000).toFixed(1)}s`);
  return lo === hi || fmt(lo) === fmt(hi) ? `  blocked ${fmt(hi)}` : `  blocked ${fmt(lo)}-${fmt(hi)}`;
}

function functionName(frame: string): string {
  const plus = frame.indexOf('+');
  return plus > 0 ? frame.slice(0, plus) : frame;
}
