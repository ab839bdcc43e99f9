/**
 * A self-contained SVG flame graph from folded stacks, rendered by loadmon
 * itself so a report can be read offline with nothing but a browser: root at
 * the bottom, width proportional to task observations, one <title> tooltip
 * per frame, and a small inline script (search by regular expression,
 * highlight, "matched %", reset). A pure function: same stacks, same bytes.
 * Frame names come escaped from foldSnapshots (escape.ts); the title and
 * subtitle are escaped here, and everything is XML-escaped on output.
 */

import { escapeText } from './escape.ts';
import { buildFlameTree, type FlameNode, frameColour } from './flame-tree.ts';
import type { FoldedStack } from './folded.ts';

export interface FlameOptions {
  title: string;
  subtitle?: string;
  width?: number;
  frameHeight?: number;
  /** Frames narrower than this (px) are not drawn (their tooltip would be unusable). */
  minWidth?: number;
}

const FONT = 12;
const CHAR_W = FONT * 0.59;

export function renderFlameGraph(stacks: readonly FoldedStack[], opts: FlameOptions): string {
  const width = opts.width ?? 1200;
  const fh = opts.frameHeight ?? 16;
  const minW = opts.minWidth ?? 0.1;
  const { root, depth } = buildFlameTree(stacks);
  const pad = 10;
  const top = 50;
  const bottom = 30;
  const height = top + (depth + 1) * fh + bottom;
  const inner = width - 2 * pad;
  const rects: string[] = [];
  const scale = root.value > 0 ? inner / root.value : 0;

  const draw = (n: FlameNode): void => {
    const w = n.value * scale;
    if (w < minW) return;
    const x = pad + n.start * scale;
    const y = height - bottom - (n.level + 1) * fh;
    const pct = root.value > 0 ? ((n.value / root.value) * 100).toFixed(2) : '0.00';
    const label = fitLabel(n.name, w);
    rects.push(
      `<g class="f"><title>${xml(n.name)} (${n.value} task observation${n.value === 1 ? '' : 's'}, ${pct}%)</title>` +
        `<rect x="${fx(x)}" y="${y}" width="${fx(w)}" height="${fh - 1}" fill="${frameColour(n.name, n.level)}" rx="2"/>` +
        (label ? `<text x="${fx(x + 3)}" y="${y + fh - 4}">${xml(label)}</text>` : '') +
        '</g>',
    );
    for (const c of n.children) draw(c);
  };
  draw(root);

  return [
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `onload="init(evt)">`,
    '<style type="text/css"><![CDATA[',
    `text { font-family: monospace; font-size: ${FONT}px; fill: #000; pointer-events: none; }`,
    '.f:hover rect { stroke: #000; stroke-width: 0.5; }',
    '#title { font-size: 17px; text-anchor: middle; }',
    '#search, #reset { cursor: pointer; pointer-events: all; fill: #333; }',
    ']]></style>',
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#f8f8f8"/>`,
    `<text id="title" x="${width / 2}" y="24">${xml(escapeText(opts.title))}</text>`,
    opts.subtitle ? `<text x="${pad}" y="42">${xml(escapeText(opts.subtitle))}</text>` : '',
    `<text id="search" x="${width - pad - 160}" y="24">Search</text>`,
    `<text id="reset" x="${width - pad - 90}" y="24">Reset</text>`,
    `<text id="matched" x="${width - pad - 160}" y="${height - 10}"></text>`,
    ...rects,
    '<script type="text/ecmascript"><![CDATA[',
    SCRIPT,
    ']]></script>',
    '</svg>',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

/** Search: highlight frames whose name matches a regular expression; show the share they cover. */
const SCRIPT = `
var frames, matchedText;
function init(evt) {
  frames = document.getElementsByClassName('f');
  matchedText = document.getElementById('matched');
  document.getElementById('search').addEventListener('click', search);
  document.getElementById('reset').addEventListener('click', reset);
}
function nameOf(g) {
  var t = g.getElementsByTagName('title')[0].textContent;
  return t.replace(/ \\(\\d+ task observations?, [\\d.]+%\\)$/, '');
}
function reset() {
  for (var i = 0; i < frames.length; i++) {
    var r = frames[i].getElementsByTagName('rect')[0];
    if (r.hasAttribute('data-fill')) { r.setAttribute('fill', r.getAttribute('data-fill')); r.removeAttribute('data-fill'); }
  }
  matchedText.textContent = '';
}
function search() {
  var term = prompt('Search frames (regular expression)', '');
  if (term === null || term === '') return reset();
  var re; try { re = new RegExp(term); } catch (e) { matchedText.textContent = 'bad regular expression'; return; }
  reset();
  var total = 0, spans = [];
  for (var i = 0; i < frames.length; i++) {
    var r = frames[i].getElementsByTagName('rect')[0];
    var x = parseFloat(r.getAttribute('x')), w = parseFloat(r.getAttribute('width'));
    if (i === 0) total = w;
    if (!re.test(nameOf(frames[i]))) continue;
    r.setAttribute('data-fill', r.getAttribute('fill'));
    r.setAttribute('fill', 'rgb(230,0,230)');
    spans.push([x, x + w]);
  }
  spans.sort(function (a, b) { return a[0] - b[0]; });
  var covered = 0, end = -1;
  for (var j = 0; j < spans.length; j++) {
    var s = Math.max(spans[j][0], end), e = spans[j][1];
    if (e > s) { covered += e - s; end = e; }
  }
  matchedText.textContent = 'Matched: ' + (total > 0 ? (100 * covered / total).toFixed(1) : '0') + '%';
}
`;

function fitLabel(name: string, w: number): string {
  const fit = Math.floor((w - 6) / CHAR_W);
  if (fit < 3) return '';
  return name.length <= fit ? name : `${name.slice(0, fit - 2)}..`;
}

function fx(n: number): string {
  return (Math.round(n * 100) / 100).toString();
}

/** Escapes text for XML and drops characters XML 1.0 cannot carry at all. */
export function xml(s: string): string {
  return (
    s
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters XML 1.0 cannot carry are control characters
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}
