// The dashboard: a range (a preset that follows new data, or a zoomed
// selection), its chart and captures, and the detail panel (the period's
// report, or one capture).
import { api } from './api.js';
import { TimelineChart } from './chart.js';
import { clear, escapeText, fmtDuration, fmtTime, h, stateEl } from './dom.js';
import { renderCapture, renderCaptureList, renderPeriod } from './views.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;

const state = {
  meta: null,
  preset: 3_600_000, // ms, 'all', or null when zoomed
  range: null,
  selected: null,
  tab: 'period',
  captures: [],
  seen: { sample: null, captures: null },
  periodKey: null,
};

const tooltip = $('tooltip');
const chart = new TimelineChart($('chart'), {
  onZoom: (from, to) => {
    state.preset = null;
    setRange({ from, to });
  },
  onReset: () => {
    state.preset = 3_600_000;
    setRange(presetRange());
  },
  onCapture: (id) => selectCapture(id),
});

function presetRange() {
  const span = state.meta?.span;
  if (!span) return null;
  if (state.preset === 'all' || state.preset === null) return { from: span.from, to: span.to };
  // A store younger than the preset shows what it has, not an empty hour.
  return { from: Math.max(span.from, span.to - state.preset), to: span.to };
}

function showError(el, err) {
  // A message can quote the request (a crafted link): escaped like any name.
  clear(
    el,
    stateEl(
      err.status === 401 ? 'This server needs a token: open /login?token=… once.' : `Could not load: ${escapeText(err.message)}`,
      true,
    ),
  );
}

function renderHeader() {
  const m = state.meta;
  // The host name and threshold come from the store, which may be a copy from another machine.
  clear(
    $('host'),
    m.host
      ? [
          h('b', { text: escapeText(m.host) }),
          ` · ${m.cpus} CPU${m.cpus === 1 ? '' : 's'} · ` +
            `threshold ${escapeText(m.threshold_spec)}${m.threshold_spec !== String(m.threshold) ? ` (${m.threshold})` : ''} · ` +
            `sample ${fmtDuration(m.sample_ms)}`,
        ]
      : 'empty store',
  );
  for (const b of $('ranges').querySelectorAll('button')) {
    const v = b.dataset.range === 'all' ? 'all' : Number(b.dataset.range);
    b.classList.toggle('on', v === state.preset);
  }
  const live = state.preset !== null && m.recording;
  $('live').classList.toggle('on', live);
  $('live-text').textContent = state.preset === null ? 'zoomed' : m.recording ? 'live' : 'following';
}

async function setRange(range) {
  state.range = range;
  renderHeader();
  if (!range) {
    clear($('chart'), stateEl('No data yet: the store has no samples. Run loadmon record (or serve --record).'));
    clear($('captures'), stateEl('No captures yet.', false, 'li'));
    clear($('period'), stateEl('Nothing recorded yet.'));
    return;
  }
  $('range-label').textContent = `${fmtTime(range.from)} → ${fmtTime(range.to, false)} UTC · ${fmtDuration(range.to - range.from)}`;
  const points = Math.min(2000, Math.max(200, Math.round($('chart').clientWidth)));
  try {
    const [tl, list] = await Promise.all([api('/api/timeline', { ...range, points }), api('/api/captures', { ...range, limit: 500 })]);
    if (state.range !== range) return;
    state.captures = list.captures;
    if (tl.columns.t.length === 0) {
      chart.plot?.destroy();
      chart.plot = null;
      clear($('chart'), stateEl('No samples in this range.'));
    } else {
      chart.render(tl, list.captures);
    }
    renderCaptureList($('captures'), $('capture-count'), list, state.selected, selectCapture);
  } catch (err) {
    showError($('chart'), err);
    clear($('captures'));
  }
  if (state.tab === 'period') loadPeriod();
}

async function loadPeriod(force = false) {
  const range = state.range;
  if (!range) return;
  const key = `${range.from}-${range.to}-${state.seen.captures}`;
  if (!force && key === state.periodKey) return;
  state.periodKey = key;
  if (!$('period').firstChild || $('period').querySelector('.state')) clear($('period'), stateEl('Analysing the range…'));
  try {
    const [report, flame] = await Promise.all([api('/api/report', { ...range, top: 15 }), api('/api/flame', { ...range, limit: 1000 })]);
    if (state.range !== range) return;
    renderPeriod($('period'), report, flame, range, tooltip, selectCapture);
  } catch (err) {
    showError($('period'), err);
  }
}

function setTab(tab) {
  state.tab = tab;
  $('tab-period').setAttribute('aria-selected', String(tab === 'period'));
  $('tab-capture').setAttribute('aria-selected', String(tab === 'capture'));
  $('period').hidden = tab !== 'period';
  $('capture').hidden = tab !== 'capture';
  if (tab === 'period') loadPeriod();
}

async function selectCapture(id) {
  state.selected = id;
  history.replaceState(null, '', `#capture=${id}`);
  chart.select(id);
  for (const li of $('captures').querySelectorAll('li.cap')) li.classList.toggle('sel', Number(li.dataset.capture) === id);
  const tab = $('tab-capture');
  tab.disabled = false;
  tab.textContent = `Capture #${id}`;
  setTab('capture');
  clear($('capture'), stateEl(`Loading capture #${id}…`));
  try {
    const [view, flame] = await Promise.all([api(`/api/captures/${id}`), api(`/api/captures/${id}/flame`)]);
    if (state.selected !== id) return;
    renderCapture($('capture'), view, flame, tooltip, selectCapture);
  } catch (err) {
    showError($('capture'), err);
  }
}

async function poll() {
  try {
    const meta = await api('/api/meta');
    const changed = meta.latest_sample !== state.seen.sample || meta.captures_stored !== state.seen.captures;
    state.meta = meta;
    state.seen = { sample: meta.latest_sample, captures: meta.captures_stored };
    if (changed && state.preset !== null) await setRange(presetRange());
  } catch {
    /* keep the page; the next poll retries */
  }
  setTimeout(poll, POLL_MS);
}

async function start() {
  for (const b of $('ranges').querySelectorAll('button')) {
    b.addEventListener('click', () => {
      state.preset = b.dataset.range === 'all' ? 'all' : Number(b.dataset.range);
      setRange(presetRange());
    });
  }
  $('tab-period').addEventListener('click', () => setTab('period'));
  $('tab-capture').addEventListener('click', () => state.selected !== null && setTab('capture'));
  try {
    state.meta = await api('/api/meta');
  } catch (err) {
    showError($('chart'), err);
    clear($('period'));
    clear($('captures'));
    return;
  }
  state.seen = { sample: state.meta.latest_sample, captures: state.meta.captures_stored };
  await setRange(presetRange());
  const m = /^#capture=(\d+)$/.exec(location.hash);
  if (m) selectCapture(Number(m[1]));
  setTimeout(poll, POLL_MS);
}

start();
