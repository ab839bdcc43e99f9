// An interactive flame graph of folded stacks ({frames: [comm, outermost,
// ..., innermost], count}), the data loadmon's own SVG renderer
// (src/format/flamegraph.ts) draws, with the same layout (root at the
// bottom, width = task observations, children in name order) and colours.
// Hover for a tooltip, click a frame to zoom into it, click the root or
// "Reset zoom" to zoom out, search by substring or /regex/.
// Frame and comm names arrive escaped by the server (src/format/folded.ts,
// the same escapeText as the CLI): they are shown as they are, not escaped twice.
import { h } from './dom.js';

const ROW = 20;

function colour(name, level) {
  if (level === 0) return 'rgb(200,200,200)';
  if (name.startsWith('[')) return 'rgb(190,190,210)';
  let x = 0;
  for (let i = 0; i < name.length; i++) x = (x * 31 + name.charCodeAt(i)) >>> 0;
  // User-space frames (the eBPF profile's, marked _[u]) in aqua, as the SVG export draws them.
  if (name.endsWith('_[u]')) return `rgb(${50 + (x % 60)},${170 + ((x >>> 8) % 60)},${170 + ((x >>> 16) % 60)})`;
  return `rgb(${205 + (x % 50)},${80 + ((x >>> 8) % 130)},${(x >>> 16) % 55})`;
}

function build(stacks) {
  const root = { name: 'all', value: 0, children: new Map(), parent: null, level: 0 };
  let depth = 0;
  for (const s of stacks) {
    if (!(s.count > 0)) continue;
    root.value += s.count;
    let n = root;
    for (const f of s.frames) {
      let c = n.children.get(f);
      if (!c) n.children.set(f, (c = { name: f, value: 0, children: new Map(), parent: n, level: n.level + 1 }));
      c.value += s.count;
      n = c;
    }
    depth = Math.max(depth, s.frames.length);
  }
  // Positions as fractions of the root, children in name order.
  const place = (n, x) => {
    n.x = x;
    n.w = root.value ? n.value / root.value : 0;
    let cx = x;
    for (const c of [...n.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      place(c, cx);
      cx += c.w;
    }
  };
  place(root, 0);
  return { root, depth };
}

export class FlameGraph {
  constructor(tooltip) {
    this.tooltip = tooltip;
    this.focus = null;
    this.term = '';
    this.el = h('div', { class: 'flame', role: 'img', 'aria-label': 'flame graph' });
    this.matched = h('span', { class: 'matched' });
    this.search = h('input', { type: 'search', placeholder: 'search frames (text or /regex/)', 'aria-label': 'search frames', oninput: () => this.setSearch(this.search.value) });
    this.reset = h('button', { type: 'button', text: 'Reset zoom', onclick: () => this.zoom(null) });
    this.node = h('div', { class: 'flame-box' }, h('div', { class: 'flame-tools' }, this.search, this.reset, this.matched), this.el);
    new ResizeObserver(() => this.draw()).observe(this.el);
  }

  render(stacks) {
    this.tree = build(stacks);
    this.focus = null;
    this.draw();
    return this.node;
  }

  zoom(n) {
    this.focus = n && n !== this.tree?.root ? n : null;
    this.draw();
  }

  setSearch(term) {
    this.term = term.trim();
    this.draw();
  }

  matcher() {
    if (!this.term) return null;
    const m = /^\/(.+)\/([i]*)$/.exec(this.term);
    try {
      if (m) {
        const re = new RegExp(m[1], m[2]);
        return (s) => re.test(s);
      }
    } catch {
      return () => false;
    }
    const t = this.term.toLowerCase();
    return (s) => s.toLowerCase().includes(t);
  }

  draw() {
    if (!this.tree) return;
    const { root, depth } = this.tree;
    const width = this.el.clientWidth || 800;
    const height = (depth + 1) * ROW + 2;
    this.el.style.height = `${height}px`;
    const f = this.focus ?? root;
    const match = this.matcher();
    const out = [];
    let covered = 0;
    const ancestors = new Set();
    for (let a = f.parent; a; a = a.parent) ancestors.add(a);
    const place = (n, inMatch) => {
      const x = (n.x - f.x) / f.w;
      const w = n.w / f.w;
      const isAncestor = ancestors.has(n);
      const px = isAncestor ? 0 : x * width;
      const pw = isAncestor ? width : w * width;
      if (!isAncestor && (x + w <= 1e-9 || x >= 1 - 1e-9 || pw < 0.6)) return;
      const hit = match !== null && match(n.name);
      if (hit && !inMatch && !isAncestor) covered += n.value;
      // A matching ancestor of the zoomed frame covers all of it.
      if (hit && isAncestor && !inMatch) covered = f.value;
      const el = h('div', { class: `fr${isAncestor ? ' dim' : ''}${hit ? ' match' : ''}`, text: pw > 28 ? n.name : '', dataset: { name: n.name } });
      el.style.left = `${px}px`;
      el.style.width = `${Math.max(0.6, pw - 1)}px`;
      el.style.top = `${height - (n.level + 1) * ROW - 1}px`;
      el.style.background = colour(n.name, n.level);
      el.addEventListener('mousemove', (e) => this.tip(e, n));
      el.addEventListener('mouseleave', () => (this.tooltip.hidden = true));
      el.addEventListener('click', () => this.zoom(n === f ? n.parent : n));
      out.push(el);
      for (const c of n.children.values()) place(c, inMatch || hit);
    };
    place(root, false);
    this.el.replaceChildren(...out);
    this.reset.disabled = this.focus === null;
    this.matched.textContent = match ? `matched ${root.value ? ((100 * covered) / (f === root ? root.value : f.value)).toFixed(1) : 0}% of ${f === root ? 'all' : f.name}` : '';
  }

  tip(e, n) {
    const { root } = this.tree;
    const pct = root.value ? ((100 * n.value) / root.value).toFixed(1) : '0';
    this.tooltip.replaceChildren(h('div', { class: 'name', text: n.name }), h('div', { class: 'meta', text: `${n.value} task observation${n.value === 1 ? '' : 's'} · ${pct}% · click to ${n === this.focus ? 'zoom out' : 'zoom in'}` }));
    this.tooltip.hidden = false;
    const x = Math.min(e.clientX + 14, window.innerWidth - this.tooltip.offsetWidth - 8);
    const y = e.clientY + 16 + this.tooltip.offsetHeight > window.innerHeight ? e.clientY - this.tooltip.offsetHeight - 10 : e.clientY + 16;
    this.tooltip.style.left = `${x}px`;
    this.tooltip.style.top = `${y}px`;
  }
}
