import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PF_KTHREAD, parseTaskStat, StatParseError } from '../../src/procfs/stat.ts';
import { fixture } from '../helpers/fixtures.ts';

test('plain D task: pid, comm, state, ppid', () => {
  const s = parseTaskStat(fixture('stat', 'vfork-parent-D.txt'));
  assert.equal(s.pid, 5264);
  assert.equal(s.comm, 'loadgen');
  assert.equal(s.state, 'D');
  assert.equal(s.ppid, 5201);
  assert.equal(s.processor, 1);
});

test('comm with spaces', () => {
  const s = parseTaskStat(fixture('stat', 'spaces-R.txt'));
  assert.equal(s.comm, 'Web Content');
  assert.equal(s.state, 'R');
  assert.equal(s.ppid, 880);
});

test('a process named "x) R (y" that sleeps is not R: state follows the last )', () => {
  const s = parseTaskStat(fixture('stat', 'hostile-sleeping.txt'));
  assert.equal(s.comm, 'x) R (y');
  assert.equal(s.state, 'S');
  assert.equal(s.ppid, 1);
});

test('comm with a newline and parentheses', () => {
  const s = parseTaskStat(fixture('stat', 'newline-running.txt'));
  assert.equal(s.comm, 'a\nD) ');
  assert.equal(s.state, 'R');
});

test('comm that starts and ends with parentheses', () => {
  const s = parseTaskStat(fixture('stat', 'parens.txt'));
  assert.equal(s.comm, '(sd-pam)');
  assert.equal(s.state, 'S');
});

test('kernel threads: kthreadd flags and idle (I) workers', () => {
  const k = parseTaskStat(fixture('stat', 'kthreadd.txt'));
  assert.equal(k.comm, 'kthreadd');
  assert.ok(k.flags & PF_KTHREAD);
  const idle = parseTaskStat(fixture('stat', 'idle-kthread.txt'));
  assert.equal(idle.comm, 'kworker/R-rcu_gp');
  assert.equal(idle.state, 'I');
  assert.ok(idle.flags & PF_KTHREAD);
});

test('every state letter is read as is', () => {
  for (const st of ['R', 'S', 'D', 'T', 't', 'Z', 'X', 'I', 'P', 'W', 'K', 'x']) {
    assert.equal(parseTaskStat(`42 (t) ${st} 1 42 42 0 -1 0`).state, st);
  }
});

test('garbage is rejected with a StatParseError', () => {
  for (const bad of ['', 'hello', '(x) R 1', '12 (x)', '12 (x) ', 'abc (x) R 1']) {
    assert.throws(() => parseTaskStat(bad), StatParseError, JSON.stringify(bad));
  }
});
