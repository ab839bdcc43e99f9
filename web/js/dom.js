// Small DOM and formatting helpers. Everything from the server is put in the
// page as text (textContent), never as HTML: comms and cgroups are
// attacker-controlled.

// The CLI's own escape function (src/format/escape.ts, compiled, served at
// /js/escape.js): control, bidi and line-separator characters in a name become
// \xHH / \uHHHH, so a name can neither reorder a cell nor hide in it.
export { escapeText } from './escape.js';

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function stateEl(text, error = false, tag = 'div') {
  return h(tag, { class: error ? 'state error' : 'state', text });
}

const pad = (n) => String(n).padStart(2, '0');

/** UTC, as loadmon prints times everywhere. */
export function fmtTime(ms, withDate = true) {
  const d = new Date(ms);
  const t = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return withDate ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${t}` : t;
}

export function fmtDuration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  const hh = Math.round(m / 6) / 10;
  if (hh < 48) return `${hh}h`;
  return `${Math.round(hh / 2.4) / 10}d`;
}

export function fmtNum(x, digits = 2) {
  return x === null || x === undefined ? '–' : Number(x).toFixed(digits);
}

export const KIND_LABEL = {
  'cpu-saturation': 'CPU',
  uninterruptible: 'D wait',
  'no-overload': 'no overload',
};
