import assert from 'node:assert/strict';
import { test } from 'node:test';

import { keyAction } from '../../src/cli/tty/screen.ts';
import { noColor } from '../../src/env.ts';

test('top keys: what readline decodes maps to the actions of docs/top.md', () => {
  const k = (name: string, ctrl = false): ReturnType<typeof keyAction> => keyAction(name.length === 1 ? name : undefined, { name, ctrl });
  assert.deepEqual(
    ['up', 'k', 'down', 'j', 'return', 'enter', 'escape', 'backspace', 'g', 's', 'p', 'q'].map((n) => k(n)),
    ['up', 'up', 'down', 'down', 'open', 'open', 'back', 'back', 'group', 'capture', 'pause', 'quit'],
  );
  assert.equal(k('c', true), 'quit', 'Ctrl-C quits (raw mode: no SIGINT)');
  assert.equal(k('g', true), null, 'Ctrl-G is not g');
  assert.equal(k('x'), null);
  assert.equal(keyAction('Q', { name: 'q', ctrl: false }), 'quit');
  assert.equal(keyAction('1', undefined), null);
});

test('NO_COLOR: present and non-empty turns colour off whatever its value; TERM=dumb too', () => {
  assert.equal(noColor({}), false);
  assert.equal(noColor({ NO_COLOR: '' }), false, 'empty is not set (no-color.org)');
  assert.equal(noColor({ NO_COLOR: '0' }), true);
  assert.equal(noColor({ NO_COLOR: '1' }), true);
  assert.equal(noColor({ TERM: 'dumb' }), true);
  assert.equal(noColor({ TERM: 'xterm-256color' }), false);
});
