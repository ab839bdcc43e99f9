// The timeline chart (uPlot): load1/5/15, R and D threads on the left axis,
// PSI avg10 and the busiest disk's utilisation (%) on the right, the capture threshold as a dashed line, one
// marker per capture. Dragging selects a range (the page refetches it, the
// server downsamples); double-click resets.
import uPlot from '/vendor/uPlot.esm.js';
import { h } from './dom.js';

const SERIES = [
  { key: 'load1', label: 'load1', stroke: '#2563eb', width: 2, scale: 'y' },
  { key: 'load5', label: 'load5', stroke: '#8b5cf6', width: 1.25, scale: 'y' },
  { key: 'load15', label: 'load15', stroke: '#94a3b8', width: 1.25, scale: 'y' },
  { key: 'r', label: 'R threads', stroke: '#16a34a', width: 1.5, scale: 'y', fill: 'rgba(22,163,74,0.07)' },
  { key: 'd', label: 'D threads', stroke: '#dc2626', width: 1.5, scale: 'y', fill: 'rgba(220,38,38,0.07)' },
  { key: 'cpu_some', label: 'PSI cpu %', stroke: '#0891b2', width: 1, scale: '%', dash: [4, 3] },
  { key: 'io_some', label: 'PSI io %', stroke: '#d97706', width: 1, scale: '%', dash: [4, 3] },
  { key: 'memory_some', label: 'PSI mem %', stroke: '#db2777', width: 1, scale: '%', dash: [4, 3] },
  { key: 'disk_util', label: 'disk busy %', stroke: '#65a30d', width: 1, scale: '%', dash: [1, 3] },
];

const pad = (n) => String(n).padStart(2, '0');
const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');
/** A chart time (s) as YYYY-MM-DD HH:MM:SS, UTC: the legend's time column. */
function utcStamp(ts) {
  const d = utc(ts);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${date} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export class TimelineChart {
  constructor(el, { onZoom, onReset, onCapture }) {
    this.el = el;
    this.onZoom = onZoom;
    this.onReset = onReset;
    this.onCapture = onCapture;
    this.plot = null;
    this.captures = [];
    this.threshold = null;
    this.selected = null;
    this.markerLayer = null;
    window.addEventListener('resize', () => this.plot?.setSize(this.size()));
  }

  size() {
    return { width: Math.max(320, this.el.clientWidth - 16), height: 300 };
  }

  colors() {
    const cs = getComputedStyle(document.documentElement);
    return {
      muted: cs.getPropertyValue('--muted').trim(),
      faint: cs.getPropertyValue('--faint').trim(),
      warn: cs.getPropertyValue('--warn').trim(),
      accent: cs.getPropertyValue('--accent').trim(),
      ink: cs.getPropertyValue('--ink').trim(),
    };
  }

  /** Draws a timeline response (GET /api/timeline) with its captures. */
  render(tl, captures) {
    this.captures = captures;
    this.threshold = tl.threshold;
    const data = [tl.columns.t.map((t) => t / 1000), ...SERIES.map((s) => tl.columns[s.key])];
    const hasPsi = SERIES.some((s) => s.scale === '%' && tl.columns[s.key].some((v) => v !== null));
    if (this.plot) {
      this.plot.setData(data);
      this.plot.setScale('x', { min: tl.from / 1000, max: tl.to / 1000 });
      return;
    }
    const c = this.colors();
    const axis = {
      stroke: c.muted,
      grid: { stroke: c.faint, width: 1 },
      ticks: { stroke: c.faint, width: 1 },
      font: '12px system-ui, sans-serif',
    };
    const opts = {
      ...this.size(),
      tzDate: utc,
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 6 } },
      select: { show: true },
      legend: { live: true },
      scales: {
        x: { time: true, min: tl.from / 1000, max: tl.to / 1000 },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1, (this.threshold ?? 0) * 1.15)] },
        '%': { range: [0, 100] },
      },
      axes: [
        {
          ...axis,
          values: (_u, splits, _axis, _space, incr) =>
            splits.map((s) => {
              const d = utc(s);
              if (incr >= 86400) return `${d.getMonth() + 1}-${pad(d.getDate())}`;
              const secs = incr < 60 ? `:${pad(d.getSeconds())}` : '';
              const ms = incr < 1 ? `.${String(d.getMilliseconds()).padStart(3, '0')}` : '';
              return `${pad(d.getHours())}:${pad(d.getMinutes())}${secs}${ms}`;
            }),
        },
        { ...axis, label: 'load · threads', labelSize: 18, labelFont: '12px system-ui, sans-serif', size: 48 },
        {
          ...axis,
          scale: '%',
          side: 1,
          label: hasPsi ? 'PSI avg10 %' : '',
          labelSize: 18,
          labelFont: '12px system-ui, sans-serif',
          grid: { show: false },
          size: 44,
        },
      ],
      series: [
        {
          label: 'time (UTC)',
          value: (_u, v) => (v == null ? '–' : utcStamp(v)),
        },
        ...SERIES.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: s.width,
          scale: s.scale,
          dash: s.dash,
          fill: s.fill,
          points: { show: false },
          value: (_u, v) => (v == null ? '–' : s.scale === '%' ? `${v.toFixed(1)}` : `${+v.toFixed(2)}`),
        })),
      ],
      hooks: {
        draw: [(u) => this.drawOverlays(u)],
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
            this.onZoom(Math.round(a * 1000), Math.round(b * 1000));
          },
        ],
      },
    };
    this.el.replaceChildren();
    this.plot = new uPlot(opts, data, this.el);
    this.plot.over.addEventListener('dblclick', () => this.onReset());
    this.markerLayer = h('div', { class: 'markers' });
    this.plot.over.append(this.markerLayer);
  }

  select(id) {
    this.selected = id;
    this.plot?.redraw(false, false);
  }

  /** Threshold line and capture markers, on the canvas; clickable labels over it. */
  drawOverlays(u) {
    const c = this.colors();
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    if (this.threshold !== null && this.threshold !== undefined) {
      const y = u.valToPos(this.threshold, 'y', true);
      if (y >= top && y <= top + height) {
        ctx.strokeStyle = c.warn;
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = c.warn;
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.fillText(`threshold ${this.threshold}`, left + 6 * devicePixelRatio, y - 4 * devicePixelRatio);
      }
    }
    const labels = [];
    let lastX = -Infinity;
    for (const cap of this.captures) {
      const x = u.valToPos(cap.t / 1000, 'x', true);
      if (x < left || x > left + width) continue;
      ctx.strokeStyle = cap.id === this.selected ? c.accent : c.warn;
      ctx.globalAlpha = cap.id === this.selected ? 1 : 0.55;
      ctx.lineWidth = (cap.id === this.selected ? 2 : 1) * devicePixelRatio;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      const cssX = u.valToPos(cap.t / 1000, 'x');
      // Labels only where there is room for them; the line is always drawn.
      if (cssX - lastX > 26 || cap.id === this.selected) {
        labels.push(
          h('div', {
            class: cap.id === this.selected ? 'marker-label sel' : 'marker-label',
            text: `#${cap.id}`,
            title: `capture #${cap.id}`,
            dataset: { capture: cap.id },
            onmousedown: (e) => e.stopPropagation(),
            onclick: (e) => {
              e.stopPropagation();
              this.onCapture(cap.id);
            },
          }),
        );
        labels[labels.length - 1].style.left = `${cssX}px`;
        lastX = cssX;
      }
    }
    ctx.restore();
    this.markerLayer?.replaceChildren(...labels);
  }
}
