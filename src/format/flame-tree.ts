/**
 * The flame graph's model, shared by the SVG renderer (flamegraph.ts) and the
 * dashboard (web/js/flame.js imports this file as tsc compiles it, served at
 * /js/flame-tree.js): folded stacks -> a tree of frames, laid out root at the
 * bottom, children in name order (as flamegraph.pl does), widths in task
 * observations; and one colour per frame kind. It imports nothing, so a
 * browser can load it as it is.
 */

/** Suffix of user-space frames in folded stacks (folded.ts marks them; flamegraph.pl shows it as text). */
export const USER_MARK = '_[u]';

export interface FlameStack {
  /** Outermost first; the first element is the comm. */
  frames: readonly string[];
  count: number;
}

export interface FlameNode {
  name: string;
  /** Task observations under this frame. */
  value: number;
  /** Observations laid out left of it at its level: its left edge, in the root's units. */
  start: number;
  /** 0 for the root ("all"), 1 for the comms, 2... for the frames. */
  level: number;
  parent: FlameNode | null;
  /** In name order. */
  children: FlameNode[];
}

export interface FlameTree {
  root: FlameNode;
  /** The deepest stack's frame count (the root's level not included). */
  depth: number;
}

/** Merges stacks into a tree (non-positive counts are left out) and lays it out. */
export function buildFlameTree(stacks: readonly FlameStack[]): FlameTree {
  const root = node('all', null);
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  let depth = 0;
  for (const s of stacks) {
    if (!(s.count > 0)) continue;
    root.value += s.count;
    let n = root;
    for (const f of s.frames) {
      n = childOf(n, f, index);
      n.value += s.count;
    }
    depth = Math.max(depth, s.frames.length);
  }
  layout(root, 0);
  return { root, depth };
}

function node(name: string, parent: FlameNode | null): FlameNode {
  return { name, value: 0, start: 0, level: parent ? parent.level + 1 : 0, parent, children: [] };
}

function childOf(n: FlameNode, name: string, index: Map<FlameNode, Map<string, FlameNode>>): FlameNode {
  let byName = index.get(n);
  if (!byName) {
    byName = new Map();
    index.set(n, byName);
  }
  let c = byName.get(name);
  if (!c) {
    c = node(name, n);
    byName.set(name, c);
    n.children.push(c);
  }
  return c;
}

function layout(n: FlameNode, start: number): void {
  n.start = start;
  n.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let x = start;
  for (const c of n.children) {
    layout(c, x);
    x += c.value;
  }
}

/**
 * Warm colours for kernel frames, aqua for user-space ones (USER_MARK), both
 * deterministic per name (the same frame has the same colour in every graph);
 * the root and the pseudo-frames of tasks without a stack ("[R: no kernel
 * stack]") in greys.
 */
export function frameColour(name: string, level: number): string {
  if (level === 0) return 'rgb(200,200,200)';
  if (name.startsWith('[')) return 'rgb(190,190,210)';
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  if (name.endsWith(USER_MARK)) return `rgb(${50 + (h % 60)},${170 + ((h >>> 8) % 60)},${170 + ((h >>> 16) % 60)})`;
  return `rgb(${205 + (h % 50)},${80 + ((h >>> 8) % 130)},${(h >>> 16) % 55})`;
}
