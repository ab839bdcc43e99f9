// The captures list, the capture view and the period view. All data goes
// in as text, and every name a task or the kernel chose (comms, cgroups,
// frames, devices, lock names, states) through escapeText first, as the CLI
// prints it. Verdict sentences and flame-graph names arrive escaped from the
// server (src/analyze/verdict-text.ts, src/format/folded.ts): escaping them
// again would double their backslashes.
import { exportUrl } from './api.js';
import { clear, escapeText, fmtDuration, fmtNum, fmtTime, h, KIND_LABEL, stateEl } from './dom.js';
import { FlameGraph } from './flame.js';

export function renderCaptureList(el, countEl, list, selected, onPick) {
  countEl.textContent = list.total > list.captures.length ? `newest ${list.captures.length} of ${list.total}` : `${list.total} in range`;
  if (list.captures.length === 0)
    return clear(el, stateEl('No capture in this range. Captures are taken when load1 reaches the threshold.', false, 'li'));
  const items = [...list.captures].reverse().map((c) =>
    h(
      'li',
      {
        class: `cap${c.id === selected ? ' sel' : ''}`,
        dataset: { capture: c.id },
        tabindex: 0,
        onclick: () => onPick(c.id),
        onkeydown: (e) => e.key === 'Enter' && onPick(c.id),
      },
      h('span', { class: 'id', text: `#${c.id}` }),
      h('span', { class: 'time', text: fmtTime(c.t) }),
      h(
        'span',
        { class: 'counts' },
        `load1 ${fmtNum(c.load1)} · `,
        h('span', { class: 'badge-r', text: `${c.r} R` }),
        ' · ',
        h('span', { class: 'badge-d', text: `${c.d} D` }),
      ),
      h(
        'div',
        { class: 'why' },
        h('span', {
          class: `chip ${c.verdict.kind}`,
          text: c.verdict.cause && c.verdict.kind === 'uninterruptible' ? c.verdict.cause : KIND_LABEL[c.verdict.kind],
        }),
        h('span', { text: c.verdict.text, title: c.verdict.text }),
      ),
    ),
  );
  return clear(el, items);
}

function verdictCards(lines, onCapture) {
  return lines.map((v) =>
    h(
      'div',
      { class: `verdict ${v.kind}` },
      h('div', { class: 'text', text: v.text }),
      h(
        'div',
        { class: 'ev' },
        v.evidence.stacks.map((s) =>
          h(
            'div',
            {},
            `${s.count}× `,
            h('span', { class: 'frames', text: s.frames.length ? s.frames.map(escapeText).join(' ← ') : '(no kernel stack: on a CPU)' }),
          ),
        ),
        v.evidence.tasks.length
          ? h('div', {
              text: `tasks: ${v.evidence.tasks.map(taskName).join(', ')}`,
            })
          : null,
        v.evidence.captures.length && onCapture
          ? h(
              'div',
              {},
              'captures: ',
              v.evidence.captures.map((id, i) => [
                i ? ' ' : '',
                h('a', {
                  href: `#capture=${id}`,
                  text: `#${id}`,
                  onclick: (e) => {
                    e.preventDefault();
                    onCapture(id);
                  },
                }),
              ]),
            )
          : null,
        (v.evidence.devices || []).map((d) =>
          h('div', {
            class: 'device',
            text:
              `device ${escapeText(d.name)}: ${Math.round(d.util * 100)}% ` +
              `busy${d.await_ms === null ? '' : `, ${d.await_ms.toFixed(2)} ms per request`}, ${d.in_flight} in flight`,
          }),
        ),
        (v.evidence.cgroups || []).map((c) =>
          h('div', { class: 'cgroup', text: `cgroup ${escapeText(c.path)} (${c.limit} limit): ${escapeText(c.detail)}` }),
        ),
        (v.evidence.chain || []).map(chainRow),
      ),
    ),
  );
}

/** A task of a verdict's evidence: comm and pid, and the tid when it is not the main thread. */
function taskName(t) {
  return `${escapeText(t.comm)} pid ${t.pid}${t.tid !== t.pid ? ` tid ${t.tid}` : ''}`;
}

/** A wait-for chain link: the lock, its waiters and its holder, with what the holder waits in. */
function chainRow(c) {
  const holder = c.holder
    ? `held by tid ${c.holder.tid} (${escapeText(c.holder.comm)})` +
      `${c.holder.state ? `, state ${escapeText(c.holder.state)}` : ''}${c.holder_cause ? `: ${escapeText(c.holder_cause)}` : ''}`
    : 'no single holder recorded';
  return h(
    'div',
    { class: 'chain' },
    h('div', {
      text: `lock ${escapeText(c.lock.name || c.lock.kind)}: ${c.waiters.toFixed(2)} threads waiting (${c.waiter_threads} seen), ${holder}`,
    }),
    c.holder?.stack.length
      ? h('div', { class: 'frames', text: `holder's stack: ${c.holder.stack.slice(0, 8).map(escapeText).join(' ← ')}` })
      : null,
  );
}

function downloads(base, params, formats) {
  return h(
    'div',
    { class: 'downloads' },
    'download',
    formats.map(([fmt, label]) => h('a', { href: exportUrl(`${base}/${fmt}`, params), download: '', text: label })),
  );
}

/** Raw frames, innermost first: the first 8 in the cell, all in its title (one per line). */
function framesCell(raw) {
  if (raw.length === 0) return h('td', { class: 'frames' }, h('span', { class: 'more', text: '(no kernel stack: running on a CPU)' }));
  const frames = raw.map(escapeText);
  const shown = frames.slice(0, 8);
  return h(
    'td',
    { class: 'frames', title: frames.join('\n') },
    shown.join(' ← '),
    frames.length > shown.length ? h('span', { class: 'more', text: ` ← … ${frames.length - shown.length} more` }) : null,
  );
}

function list(xs, max = 6) {
  const s = xs.slice(0, max).join(', ');
  return xs.length > max ? `${s}, +${xs.length - max}` : s;
}

export function renderCapture(el, view, flameStacks, tooltip, onCapture) {
  const c = view.capture;
  const snap = view.snapshot;
  const flame = new FlameGraph(tooltip);
  const groups = h(
    'table',
    { class: 'grid groups' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { class: 'num', text: 'tasks' }),
        h('th', { text: 'state' }),
        h('th', { text: 'cause' }),
        h('th', { text: 'kernel stack (innermost first)' }),
        h('th', { text: 'pids' }),
        h('th', { text: 'comms' }),
        h('th', { text: 'cgroups' }),
      ),
    ),
    h(
      'tbody',
      {},
      view.groups.map((g) =>
        h(
          'tr',
          {},
          h('td', { class: 'num', text: g.count }),
          h('td', {}, h('span', { class: g.state === 'R' ? 'badge-r' : 'badge-d', text: escapeText(g.state) })),
          h('td', { class: 'list', text: g.cause_label ?? 'waiting for a CPU' }),
          framesCell(g.frames),
          h('td', { class: 'list mono', text: list(g.pids) }),
          h('td', { class: 'list', text: list(g.comms.map(escapeText)) }),
          h('td', {
            class: 'list',
            text: list(
              g.cgroups.map((x) => (x === null ? '?' : escapeText(x))),
              3,
            ),
          }),
        ),
      ),
    ),
  );
  clear(
    el,
    h(
      'div',
      { class: 'summary' },
      h('span', { class: 'big', text: `Capture #${c.id}` }),
      h('span', { class: 'kv' }, 'time ', h('b', { text: `${fmtTime(Date.parse(c.time))} UTC` })),
      h('span', { class: 'kv' }, 'load1 ', h('b', { text: fmtNum(c.load1) })),
      h('span', { class: 'kv' }, h('b', { class: 'badge-r', text: c.r }), ' R · ', h('b', { class: 'badge-d', text: c.d }), ' D'),
      h('span', { class: 'kv' }, 'cpus ', h('b', { text: snap.cpus })),
      h('span', { class: 'kv' }, 'source ', h('b', { text: escapeText(c.source) })),
      h('span', { class: 'kv' }, 'took ', h('b', { text: `${fmtNum(snap.capture.ms, 1)} ms` })),
      downloads(`/api/captures/${c.id}/export`, {}, [
        ['folded', 'folded'],
        ['speedscope', 'speedscope'],
        ['svg', 'svg'],
        ['json', 'json'],
        ['pprof', 'pprof'],
      ]),
    ),
    h('div', {
      class: 'note',
      text:
        `context: ${c.context.samples} samples in the 60 s before` +
        `${c.context.max_load1 !== null ? `, load1 up to ${fmtNum(c.context.max_load1)}` : ''}` +
        `${c.trigger ? `; trigger: ${triggerText(c.trigger)}` : ''}`,
    }),
    h('h3', { text: 'Verdict' }),
    verdictCards(view.verdict, onCapture),
    h('h3', { text: 'Flame graph' }),
    h('div', {
      class: 'note',
      text: 'R and D tasks by kernel stack, root at the bottom; width is the number of tasks. Click a frame to zoom.',
    }),
    flame.render(flameStacks.stacks),
    h('h3', { text: `Tasks by kernel stack (${view.groups.length} stack${view.groups.length === 1 ? '' : 's'})` }),
    groups,
    recentBlocked(snap.blocked_recent),
    snap.notes.length ? [h('h3', { text: 'Notes' }), snap.notes.map((n) => h('div', { class: 'note', text: escapeText(n) }))] : null,
  );
}

/** The rule that fired a capture: a PSI trigger's kernel event (with the load beside it), or the load threshold. */
function triggerText(t) {
  // PSI stall and window are whole milliseconds as given on the command line: 150ms, 2s.
  const ms = (x) => (x % 1000 === 0 ? `${x / 1000}s` : `${x}ms`);
  if (t.reason === 'psi' && t.psi) {
    const p = t.psi;
    return `PSI ${escapeText(`${p.resource} ${p.kind}`)} ${ms(p.stall_ms)}/${ms(p.window_ms)} (load1 ${fmtNum(t.load1)})`;
  }
  return `load1 ${fmtNum(t.load1)} ≥ ${escapeText(t.threshold_spec)}`;
}

/** bpf captures: the time blocked in D over the minute before (every blockage, not only the ones in progress). */
function recentBlocked(b) {
  if (!b) return null;
  const ms = (x) => (x >= 1000 ? `${fmtNum(x / 1000)} s` : `${fmtNum(x)} ms`);
  return [
    h('h3', { text: `Time blocked in D over the ${fmtDuration(b.window_ms)} before (measured)` }),
    h('div', { class: 'note', text: `a mean of ${fmtNum(b.mean_d)} threads in D` }),
    h(
      'table',
      { class: 'grid recent-blocked' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { class: 'num', text: 'blocked' }),
          h('th', { class: 'num', text: 'ended' }),
          h('th', { text: 'process' }),
          h('th', { text: 'kernel stack (innermost first)' }),
        ),
      ),
      h(
        'tbody',
        {},
        b.stacks.map((x) =>
          h(
            'tr',
            {},
            h('td', { class: 'num', text: ms(x.blocked_ms) }),
            h('td', { class: 'num', text: x.ended }),
            h('td', { class: 'list', text: `${escapeText(x.comm)} ${x.pid}` }),
            framesCell(x.stack.map((f) => f.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/, ''))),
          ),
        ),
      ),
    ),
  ];
}

function contribTable(title, rows, kind) {
  if (!rows || rows.length === 0) return h('div', {}, h('h3', { text: title }), stateEl('nothing counted in this range'));
  const max = Math.max(...rows.map((r) => r.total), 1e-9);
  return h(
    'div',
    {},
    h('h3', { text: title }),
    h(
      'table',
      { class: 'grid' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { text: kind }),
          h('th', { class: 'num', text: 'share' }),
          h('th', { class: 'num', text: 'R' }),
          h('th', { class: 'num', text: 'D' }),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) => {
          const bar = h('div', { class: 'bar' }, h('span', { class: 'r' }), h('span', { class: 'd' }));
          bar.children[0].style.width = `${(100 * r.r) / max}%`;
          bar.children[1].style.left = `${(100 * r.r) / max}%`;
          bar.children[1].style.width = `${(100 * r.d) / max}%`;
          const name = kind === 'process' && r.comm !== undefined ? `${escapeText(r.comm)} · pid ${r.pid}` : escapeText(r.key);
          return h(
            'tr',
            {},
            h(
              'td',
              { class: 'list' },
              h('div', { text: name }),
              kind === 'process' && r.cgroup ? h('div', { class: 'note', text: escapeText(r.cgroup) }) : null,
              bar,
            ),
            h('td', { class: 'num', text: fmtNum(r.total) }),
            h('td', { class: 'num', text: fmtNum(r.r) }),
            h('td', { class: 'num', text: fmtNum(r.d) }),
          );
        }),
      ),
    ),
  );
}

/** Measured time blocked in D per kernel stack (record --source bpf), or nothing. */
function blockedSection(b) {
  if (!b) return null;
  const secs = (x) => (x >= 1 ? `${fmtNum(x)} s` : `${fmtNum(x * 1000)} ms`);
  return [
    h('h3', { text: 'Time blocked in D, measured (eBPF)' }),
    h('div', {
      class: 'note',
      text:
        `${secs(b.blocked_s)} blocked over ${fmtDuration(b.covered_s * 1000)} tracked (${Math.round(b.coverage * 100)}% of ` +
        `the samples): a mean of ${fmtNum(b.mean_d)} threads in D`,
    }),
    h(
      'table',
      { class: 'grid', id: 'blocked-stacks' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { class: 'num', text: 'blocked' }),
          h('th', { class: 'num', text: 'mean D' }),
          h('th', { class: 'num', text: 'ended' }),
          h('th', { text: 'cause' }),
          h('th', { text: 'kernel stack (innermost first)' }),
          h('th', { text: 'processes' }),
        ),
      ),
      h(
        'tbody',
        {},
        b.stacks.map((s) =>
          h(
            'tr',
            {},
            h('td', { class: 'num', text: secs(s.blocked_s) }),
            h('td', { class: 'num', text: fmtNum(s.mean_d) }),
            h('td', { class: 'num', text: s.intervals }),
            h('td', { class: 'cause', text: s.cause }),
            framesCell(s.frames),
            h('td', {
              class: 'list',
              text: list(
                s.processes.map((p) => `${escapeText(p.comm)} ${p.pid}`),
                4,
              ),
            }),
          ),
        ),
      ),
    ),
  ];
}

export function renderPeriod(el, report, flameStacks, range, tooltip, onCapture) {
  const l = report.load;
  const mean = report.attribution.mean;
  const end = report.attribution.at_end;
  const flame = new FlameGraph(tooltip);
  const stacks = h(
    'table',
    { class: 'grid' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { class: 'num', text: 'observations' }),
        h('th', { class: 'num', text: 'per capture' }),
        h('th', { text: 'state' }),
        h('th', { text: 'cause' }),
        h('th', { text: 'kernel stack (innermost first)' }),
        h('th', { text: 'tasks' }),
      ),
    ),
    h(
      'tbody',
      {},
      report.stacks.map((s) =>
        h(
          'tr',
          {},
          h('td', { class: 'num', text: s.count }),
          h('td', { class: 'num', text: fmtNum(s.share) }),
          h('td', {}, h('span', { class: s.state === 'R' ? 'badge-r' : 'badge-d', text: escapeText(s.state) })),
          h('td', { class: 'cause', text: s.state === 'D' ? s.cause : 'cpu' }),
          framesCell(s.frames),
          h('td', {
            class: 'list',
            text: `${list(
              s.tasks.map((t) => `${escapeText(t.comm)} ${t.pid}`),
              4,
            )}${s.distinct_tasks > s.tasks.length ? ` (${s.distinct_tasks} distinct)` : ''}`,
          }),
        ),
      ),
    ),
  );
  clear(
    el,
    h(
      'div',
      { class: 'summary' },
      h('span', { class: 'big', text: fmtDuration(range.to - range.from) }),
      h('span', { class: 'kv' }, h('b', { text: `${fmtTime(range.from)} → ${fmtTime(range.to, false)} UTC` })),
      l ? h('span', { class: 'kv' }, 'load1 avg ', h('b', { text: fmtNum(l.avg) }), ' max ', h('b', { text: fmtNum(l.max) })) : null,
      l ? h('span', { class: 'kv' }, 'above threshold ', h('b', { text: fmtDuration(l.above_threshold_s * 1000) })) : null,
      // The scans --cpu-budget skipped: those samples' R/D counts are the nearest scan's.
      l?.thinned_samples
        ? h('span', { class: 'kv thinned' }, 'thinned by --cpu-budget ', h('b', { text: `${l.thinned_samples} of ${l.samples} samples` }))
        : null,
      h('span', { class: 'kv' }, 'captures ', h('b', { text: report.captures.length })),
      downloads('/api/export', { from: range.from, to: range.to }, [
        ['folded', 'folded'],
        ['speedscope', 'speedscope'],
        ['svg', 'svg'],
        ['json', 'report json'],
        ['pprof', 'pprof'],
      ]),
    ),
    l ? null : stateEl('No samples in this range.'),
    h('h3', { text: 'Verdict' }),
    verdictCards(report.verdict, onCapture),
    end
      ? h('div', {
          class: 'note',
          text:
            `load1 at the end of the range: kernel ${fmtNum(end.kernel_load1)}, replayed ${fmtNum(end.model_load1)} ` +
            `(R ${fmtNum(end.states.R)}, D ${fmtNum(end.states.D)}, not scanned ${fmtNum(end.not_scanned)}, ` +
            `before the replay ${fmtNum(end.before_window)})`,
        })
      : null,
    mean
      ? h('div', {
          class: 'note',
          text:
            `share of the average load1 (${fmtNum(mean.load1_avg)}) over the range: R ${fmtNum(mean.states.R)}, ` +
            `D ${fmtNum(mean.states.D)}${mean.d_from === 'blocked_time' ? ' (measured)' : ''}, unattributed ${fmtNum(mean.unattributed)}`,
        })
      : null,
    h('div', { class: 'two' }, contribTable('By process', mean?.processes, 'process'), contribTable('By cgroup', mean?.cgroups, 'cgroup')),
    blockedSection(report.blocked),
    h('h3', { text: `Stacks across ${report.captures.length} capture${report.captures.length === 1 ? '' : 's'}` }),
    report.stacks.length ? stacks : stateEl('No capture in this range, so no stacks.'),
    flameStacks.total > 0 ? [h('h3', { text: 'Flame graph of the range' }), flame.render(flameStacks.stacks)] : null,
  );
}
