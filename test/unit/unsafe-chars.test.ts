import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertNoUnsafe, findUnsafe } from '../helpers/unsafe-chars.ts';

// The check every escaping test leans on must itself be able to fail.
test('unsafe-chars: ESC, C1 CSI, RLO and U+2028 are found, at the right index', () => {
  for (const c of ['\x1b', '\x00', '\x7f', '\u009b', '\u202e', '\u2028', '\u200e', '\r', '\t']) {
    const bad = findUnsafe(`ok\n${c}x`, true);
    assert.equal(bad?.[0], c, JSON.stringify(c));
    assert.equal(bad?.index, 3);
  }
  assert.throws(() => assertNoUnsafe('line\n\x1b[2J', 'text'), /text: raw U\+001b near/);
});

test('unsafe-chars: LF only when allowed; printable non-ASCII is safe', () => {
  assert.equal(findUnsafe('a\nb', true), null);
  assert.equal(findUnsafe('a\nb', false)?.index, 1);
  assert.doesNotThrow(() => assertNoUnsafe('frame ← caller\nnext line: é, 日本, \\x1b', 'text'));
});
