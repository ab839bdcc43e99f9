// An interactive flame graph of folded stacks ({frames: [comm, outermost,
// ..., innermost], count}). The tree, its layout (root at the bottom, width =
// task observations, children in name order) and the colours are those of
// loadmon's own SVG renderer: src/format/flame-tree.ts, compiled, served at
// /js/flame-tree.js. This file is the interaction: hover for a tooltip,
// click a frame to zoom into it, click the root or "Reset zoom" to zoom out,
// search by substring or /regex/.
// Frame and comm names arrive escaped by the server (src/format/folded.ts,
// the same escapeText as the CLI): they are shown as they are, not escaped twice.
import { h } from './dom.js';
import { buildFlameTree, frameColour } from './flame-tree.js';

const ROW = 20;

export class FlameGraph {
  constructor(tooltip) {
    this.tooltip = tooltip;
    this.focus = null;
    this.term = '';
    this.el = h('div', { class: 'flame', role: 'img', 'aria-label': 'flame graph' });
    this.matched = h('span', { class: 'matched' });
    this.search = h('input', {
      type: 'search',
      placeholder: 'search frames (text or /regex/)',
      'aria-label': 'search frames',
      oninput: () => this.setSearch(this.search.value),
    });
    this.reset = h('button', { type: 'button', text: 'Reset zoom', onclick: () => this.zoom(null) });
    this.node = h('div', { class: 'flame-box' }, h('div', { class: 'flame-tools' }, this.search, this.reset, this.matched), this.el);
    new ResizeObserver(() => this.draw()).observe(this.el);
  }

  render(stacks) {
    this.tree = buildFlameTree(stacks);
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
    // Positions as fractions of the focused frame (an empty graph: of 1, so nothing is wide enough to draw).
    const span = f.value || 1;
    const place = (n, inMatch) => {
      const x = (n.start - f.start) / span;
      const w = n.value / span;
      const isAncestor = ancestors.has(n);
      const px = isAncestor ? 0 : x * width;
      const pw = isAncestor ? width : w * width;
      if (!isAncestor && (x + w <= 1e-9 || x >= 1 - 1e-9 || pw < 0.6)) return;
      const hit = match?.(n.name) ?? false;
      if (hit && !inMatch && !isAncestor) covered += n.value;
      // A matching ancestor of the zoomed frame covers all of it.
      if (hit && isAncestor && !inMatch) covered = f.value;
      const el = h('div', {
        class: `fr${isAncestor ? ' dim' : ''}${hit ? ' match' : ''}`,
        text: pw > 28 ? n.name : '',
        dataset: { name: n.name },
      });
      el.style.left = `${px}px`;
      el.style.width = `${Math.max(0.6, pw - 1)}px`;
      el.style.top = `${height - (n.level + 1) * ROW - 1}px`;
      el.style.background = frameColour(n.name, n.level);
      el.addEventListener('mousemove', (e) => this.tip(e, n));
      el.addEventListener('mouseleave', () => (this.tooltip.hidden = true));
      el.addEventListener('click', () => this.zoom(n === f ? n.parent : n));
      out.push(el);
      for (const c of n.children) place(c, inMatch || hit);
    };
    place(root, false);
    this.el.replaceChildren(...out);
    this.reset.disabled = this.focus === null;
    this.matched.textContent = match
      ? `matched ${root.value ? ((100 * covered) / (f === root ? root.value : f.value)).toFixed(1) : 0}% of ${f === root ? 'all' : f.name}`
      : '';
  }

  tip(e, n) {
    const { root } = this.tree;
    const pct = root.value ? ((100 * n.value) / root.value).toFixed(1) : '0';
    this.tooltip.replaceChildren(
      h('div', { class: 'name', text: n.name }),
      h('div', {
        class: 'meta',
        text: `${n.value} task observation${n.value === 1 ? '' : 's'} · ${pct}% · click to ${n === this.focus ? 'zoom out' : 'zoom in'}`,
      }),
    );
    this.tooltip.hidden = false;
    const x = Math.min(e.clientX + 14, window.innerWidth - this.tooltip.offsetWidth - 8);
    const y = e.clientY + 16 + this.tooltip.offsetHeight > window.innerHeight ? e.clientY - this.tooltip.offsetHeight - 10 : e.clientY + 16;
    this.tooltip.style.left = `${x}px`;
    this.tooltip.style.top = `${y}px`;
  }
}
