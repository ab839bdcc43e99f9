import assert from 'node:assert/strict';
import { test } from 'node:test';

import { escapeText } from '../../src/format/escape.ts';
import { UNSAFE } from '../helpers/unsafe-chars.ts';

test('escapeText: C0 controls and DEL as \\xHH, the backslash doubled', () => {
  assert.equal(escapeText('\x1b[2J\x1b[31mX'), '\\x1b[2J\\x1b[31mX');
  assert.equal(escapeText('a\r\nb\tc\x00d\x7f'), 'a\\x0d\\x0ab\\x09c\\x00d\\x7f');
  assert.equal(escapeText('C:\\x1b'), 'C:\\\\x1b', 'an escape spelled out by the task reads differently from a real one');
});

test('escapeText: C1 controls, line/paragraph separators and bidi controls as \\uHHHH', () => {
  // U+009B is CSI to terminals that read 8-bit controls; U+0085 is NEL.
  assert.equal(escapeText('\u009b2J\u0085\u0080\u009f'), '\\u009b2J\\u0085\\u0080\\u009f');
  assert.equal(escapeText('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
  const bidi = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u061c', '\u200e', '\u200f'];
  for (const c of bidi) assert.equal(escapeText(`x${c}y`), `x\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}y`);
});

test('escapeText: printable text, including non-ASCII, is unchanged', () => {
  for (const s of [
    'kworker/u4:2+events_unbound',
    'x) R (y',
    '/system.slice/a b.service',
    'café 日本 Ω',
    'ext4_sync_file+0x176/0x3a0 [ext4]',
    '\u00a0\u00ff\u2027\u202f\u2065\u206a',
  ]) {
    assert.equal(escapeText(s), s);
  }
});

test('escapeText: the output has no control or bidi character left, whatever the input', () => {
  let all = '';
  for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c);
  assert.doesNotMatch(escapeText(all), UNSAFE);
});
