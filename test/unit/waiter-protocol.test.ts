/**
 * The native waiter's lines (src/trigger/waiter-protocol.ts), on a real
 * session recorded from native/waiter.c on this machine (fixtures/waiter/
 * session.txt: refused and accepted PSI triggers, events, a load update;
 * hush-session.txt: `hush` accepted and refused).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { hushCommand, parseWaiterLine, psiCommand } from '../../src/trigger/waiter-protocol.ts';
import { fixture } from '../helpers/fixtures.ts';

const session = fixture('waiter', 'session.txt').trimEnd().split('\n');

test('every line of a real session parses', () => {
  for (const l of session) assert.notEqual(parseWaiterLine(l), null, l);
  assert.deepEqual(parseWaiterLine(session[0]!), { type: 'ready', version: 1 });
});

test('a load line gives the three averages, their text and the monotonic ms', () => {
  const line = session.find((l) => l.startsWith('load '))!;
  const parsed = parseWaiterLine(line);
  assert.deepEqual(parsed, { type: 'load', loads: '4.76 3.07 3.83', load1: 4.76, load5: 3.07, load15: 3.83, tMs: 21157214.006 });
});

test('acks, refusals with the kernel rules, events and the gone notice', () => {
  assert.deepEqual(parseWaiterLine('ok psi a'), { type: 'ok', command: 'psi', id: 'a' });
  assert.deepEqual(parseWaiterLine('ok unpsi b'), { type: 'ok', command: 'unpsi', id: 'b' });
  const refused = parseWaiterLine(session[1]!);
  assert.equal(refused?.type, 'err');
  assert.ok(refused?.type === 'err' && refused.command === 'psi' && refused.id === 'a');
  assert.match(refused.text, /^Invalid argument \(window 500000\.\.10000000 us/);
  assert.deepEqual(parseWaiterLine('psi a 21156476.118'), { type: 'psi', id: 'a', tMs: 21156476.118 });
  assert.deepEqual(parseWaiterLine('err psi io-1 gone'), { type: 'err', command: 'psi', id: 'io-1', text: 'gone' });
  assert.deepEqual(parseWaiterLine('err psi - bad id'), { type: 'err', command: 'psi', id: '-', text: 'bad id' });
  assert.deepEqual(parseWaiterLine('err line too long'), { type: 'err', command: null, id: null, text: 'line too long' });
});

test('lines the waiter never writes are refused', () => {
  for (const l of [
    '',
    'ready',
    'ready one',
    'load 1.00 2.00 3.00',
    'load 1 2 3 4.000',
    'load 1.00 2.00 3.00 12.5',
    'psi a',
    'psi a 12',
    'psi a/b 12.000',
    'ok psi',
    'ok frob a',
    'err',
    'err ',
    ' ready 1',
    'ready 1 ',
  ]) {
    assert.equal(parseWaiterLine(l), null, JSON.stringify(l));
  }
});

test('psiCommand words a trigger as the waiter takes it, and refuses what it would refuse', () => {
  assert.equal(
    psiCommand({ id: 'io-0', resource: 'io', kind: 'some', stallUs: 150_000, windowUs: 2_000_000 }),
    'psi io-0 io some 150000 2000000',
  );
  const base = { resource: 'cpu', kind: 'full', stallUs: 1, windowUs: 2 } as const;
  assert.throws(() => psiCommand({ ...base, id: 'a b' }), RangeError);
  assert.throws(() => psiCommand({ ...base, id: 'x'.repeat(33) }), RangeError);
  assert.throws(() => psiCommand({ ...base, id: 'a', stallUs: 1.5 }), RangeError);
  assert.throws(() => psiCommand({ ...base, id: 'a', windowUs: -1 }), RangeError);
});

test('hush: the answers of a real session, and the command as the waiter takes it', () => {
  const lines = fixture('waiter', 'hush-session.txt').trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => parseWaiterLine(l)),
    [
      { type: 'ready', version: 1 },
      { type: 'done', command: 'hush' },
      { type: 'refused', command: 'hush', text: 'every 5000..600000 ms' },
      { type: 'refused', command: 'hush', text: 'usage: hush <below> <every_ms>' },
      { type: 'refused', command: 'hush', text: 'usage: hush <below> <every_ms>' },
      { type: 'done', command: 'hush' },
    ],
  );
  assert.equal(hushCommand(1.5, 30_000), 'hush 1.5 30000');
  assert.equal(hushCommand(0, 0), 'hush 0 0');
  for (const [below, every] of [
    [1, 100],
    [1, 600_001],
    [-1, 30_000],
    [Number.NaN, 30_000],
    [1, 30_000.5],
  ] as const) {
    assert.throws(() => hushCommand(below, every), RangeError, `${below} ${every}`);
  }
});
