/** The report for people: header, load curve, verdict with evidence, attribution, stacks, captures. */

import type { Contribution } from '../analyze/attribution.ts';
import { CAUSES } from '../analyze/causes.ts';
import type { Report, ReportLoad } from '../model/report.ts';
import type { Trigger } from '../model/snapshot.ts';
import { formatDuration } from '../model/time.ts';
import { escapeText } from './escape.ts';
import { verdictEvidence } from './evidence-text.ts';

/** What --cpu-budget did to the timeline: how many samples lost their scan, and the worst stride. */
function thinningLine(l: ReportLoad): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return (
    `light scans thinned by --cpu-budget: ${n(l.thinned_samples)} of ${n(l.samples)} samples ` +
    `(up to ${n(l.thinned_longest_run)} in a row: 1 scan in ${n(l.thinned_longest_run + 1)} at the worst); ` +
    'their R/D counts are taken from the nearest scan'
  );
}

export function formatReportText(r: Report): string {
  const out: string[] = [];
  // The store's name and what it holds are escaped too: a store copied off another machine is untrusted.
  out.push(
    escapeText(`loadmon report  store ${r.store}  host ${r.host ?? '?'}  cpus ${r.cpus ?? '?'}  threshold ${r.threshold ?? '?'}`),
    `period ${r.period.from ?? '-'} .. ${r.period.to ?? '-'}`,
  );
  if (!r.load) {
    out.push('', 'no samples in this period');
  } else {
    const l = r.load;
    const pct = l.sampled_s > 0 ? ` (${Math.round((l.above_threshold_s / l.sampled_s) * 100)}% of the sampled time)` : '';
    out.push(
      `load1: min ${l.min.toFixed(2)}  avg ${l.avg.toFixed(2)}  max ${l.max.toFixed(2)}; above the ` +
        `threshold ${dur(l.above_threshold_s)}${pct}`,
      `samples: ${l.samples}, ${l.scanned_samples} with per-process R/D counts ` +
        `(${l.scanned_samples === l.samples ? 'every sample' : 'taken while load1 >= half the threshold'})`,
    );
    if (l.thinned_samples > 0) out.push(thinningLine(l));
    const p = r.pressure_peak_avg10;
    const psi = (k: string): string => (p[k] === null || p[k] === undefined ? '-' : `${p[k]!.toFixed(1)}%`);
    if (Object.keys(p).length > 0) {
      out.push(
        `pressure (peak avg10): cpu some ${psi('cpu_some')} full ${psi('cpu_full')}; io some ${psi('io_some')} full ${psi('io_full')};` +
          ` memory some ${psi('memory_some')} full ${psi('memory_full')}`,
      );
    }
  }

  out.push('', 'verdict:');
  r.verdict.forEach((v, i) => {
    // The sentence is composed with its names already escaped (analyze/verdict-text.ts).
    out.push(`  ${i + 1}. ${v.text}`);
    for (const s of v.evidence.stacks)
      out.push(`     stack (${s.count}): ${s.frames.length ? frameList(s.frames) : '(no kernel stack: on a CPU)'}`);
    if (v.evidence.tasks.length) {
      const tasks = v.evidence.tasks.map((t) => `${escapeText(t.comm)} pid ${t.pid}${t.tid !== t.pid ? ` tid ${t.tid}` : ''}`);
      out.push(`     tasks: ${tasks.join(', ')}`);
    }
    if (v.evidence.captures.length) out.push(`     captures: ${v.evidence.captures.map((c) => `#${c}`).join(' ')}`);
    out.push(...verdictEvidence(v.evidence));
  });

  const end = r.attribution.at_end;
  if (end) {
    out.push(
      '',
      `load1 at ${new Date(end.at_ms).toISOString()}: kernel ${end.kernel_load1.toFixed(2)}, replayed ${end.model_load1.toFixed(2)}` +
        ` (R ${end.states.R.toFixed(2)}, D ${end.states.D.toFixed(2)}, before the replay ${end.before_window.toFixed(2)}, not ` +
        `scanned ${end.not_scanned.toFixed(2)})`,
      ...table('by process', end.processes, true),
      ...table('by cgroup', end.cgroups, false),
    );
  }
  const mean = r.attribution.mean;
  if (mean) {
    out.push(
      '',
      `share of the average load1 (${mean.load1_avg.toFixed(2)}) over the period: R ${mean.states.R.toFixed(2)}, ` +
        `D ${mean.states.D.toFixed(2)},` +
        ` unattributed ${mean.unattributed.toFixed(2)}${mean.d_from === 'blocked_time' ? ' (D from the measured time blocked)' : ''}`,
      ...table('by process', mean.processes, true),
      ...table('by cgroup', mean.cgroups, false),
    );
  }

  const b = r.blocked;
  if (b) {
    out.push(
      '',
      `time blocked in D, measured (eBPF off-CPU tracking over ${dur(b.covered_s)}, ${Math.round(b.coverage * 100)}% of the time):` +
        ` ${secs(b.blocked_s)}, a mean of ${b.mean_d.toFixed(2)} threads in D`,
    );
    if (b.processes.length) {
      out.push('  by process:    blocked  mean D   ended');
      for (const p of b.processes) {
        out.push(
          `  ${secs(p.blocked_s).padStart(17)} ${p.mean_d.toFixed(2).padStart(7)} ${String(p.intervals).padStart(7)}  ` +
            `pid ${p.pid} ${escapeText(p.comm)}${p.cgroup ? `  ${escapeText(p.cgroup)}` : ''}`,
        );
      }
    }
    // Only worth a table when some command ran as more than one process.
    if (b.commands.some((c) => c.processes > 1)) {
      out.push('  by command:    blocked  mean D   ended');
      for (const c of b.commands) {
        out.push(
          `  ${secs(c.blocked_s).padStart(17)} ${c.mean_d.toFixed(2).padStart(7)} ${String(c.intervals).padStart(7)} ` +
            ` ${escapeText(c.comm)} (${c.processes} process${c.processes === 1 ? '' : 'es'})`,
        );
      }
    }
    if (b.stacks.length) {
      out.push('  by kernel stack:');
      for (const s of b.stacks) {
        out.push(
          `  ${secs(s.blocked_s).padStart(17)} ${s.mean_d.toFixed(2).padStart(7)} ${String(s.intervals).padStart(7)} ` +
            ` ${CAUSES[s.cause].id.padEnd(8)}  ${s.frames.length ? frameList(s.frames.slice(0, 6)) : '(no kernel stack)'}`,
          `${' '.repeat(36)}in: ${s.processes.map((x) => `${escapeText(x.comm)} ${x.pid} (${secs(x.blocked_s)})`).join(', ')}${
            (s.distinct_processes ?? 0) > s.processes.length ? `, +${s.distinct_processes! - s.processes.length}` : ''
          }`,
        );
      }
    }
  }

  if (r.stacks.length) {
    out.push('', `stacks (task observations in ${r.captures.length} capture(s), mean tasks per capture):`);
    for (const s of r.stacks) {
      const cause = s.state === 'D' ? CAUSES[s.cause].id : 'cpu';
      out.push(
        `  ${String(s.count).padStart(5)}  ${s.share.toFixed(2).padStart(6)}  ${s.state}  ${cause.padEnd(8)} ` +
          ` ${s.frames.length ? frameList(s.frames.slice(0, 6)) : '(no kernel stack)'}`,
        `${' '.repeat(28)}tasks: ${s.tasks
          .slice(0, 5)
          .map((t) => `${escapeText(t.comm)} ${t.pid}/${t.tid}`)
          .join(', ')}${s.distinct_tasks > 5 ? `, +${s.distinct_tasks - 5}` : ''}`,
      );
    }
  }
  if (r.captures.length) {
    out.push('', 'captures:');
    for (const c of r.captures) {
      out.push(
        `  #${c.id}  ${c.time}  load1 ${c.load1.toFixed(2)}  ${c.r} R  ${c.d} D  ${captureTrigger(c.trigger)}(${escapeText(c.source)}; ` +
          `context: ${c.context.samples} samples in the 60 s before` +
          `${c.context.max_load1 !== null ? `, load1 up to ${c.context.max_load1.toFixed(2)}` : ''})`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

/** Which rule fired a capture, with a trailing gap: `PSI io some 150ms/2s`, or `load1 7.20 >= 3`. */
function captureTrigger(t: Trigger | null): string {
  if (!t) return '';
  if (t.reason === 'psi' && t.psi) {
    const p = t.psi;
    return `${escapeText(`PSI ${p.resource} ${p.kind} ${formatDuration(p.stall_ms)}/${formatDuration(p.window_ms)}`)}  `;
  }
  return `${escapeText(`load1 ${t.load1.toFixed(2)} >= ${t.threshold_spec}`)}  `;
}

function table(title: string, rows: Contribution[], isProcess: boolean): string[] {
  if (rows.length === 0) return [];
  const out = [`  ${title}:    share      R      D`];
  for (const c of rows) {
    const name =
      isProcess && c.comm !== undefined
        ? `pid ${c.pid} ${escapeText(c.comm)}${c.cgroup ? `  ${escapeText(c.cgroup)}` : ''}`
        : escapeText(c.key);
    out.push(`  ${c.total.toFixed(2).padStart(17)} ${c.r.toFixed(2).padStart(6)} ${c.d.toFixed(2).padStart(6)}  ${name}`);
  }
  return out;
}

/** Frames innermost first, as one escaped line. */
function frameList(frames: readonly string[]): string {
  return frames.map(escapeText).join(' <- ');
}

function secs(s: number): string {
  return s >= 100 ? `${s.toFixed(0)} s` : s >= 1 ? `${s.toFixed(1)} s` : `${(s * 1000).toFixed(1)} ms`;
}

function dur(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`;
}
