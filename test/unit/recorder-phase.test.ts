import assert from 'node:assert/strict';
import { test } from 'node:test';

import { samplePhase, untilPhase } from '../../src/record/recorder.ts';

test('sample phase: off the whole second, stable per pid, neighbouring recorders far apart', () => {
  for (const pid of [1, 2, 100, 4242, 4243, 4194303]) {
    const p = samplePhase(pid, 1000);
    assert.ok(p >= 50 && p <= 950, `pid ${pid}: ${p}`);
    assert.equal(samplePhase(pid, 1000), p);
  }
  const gap = Math.abs(samplePhase(4242, 1000) - samplePhase(4243, 1000));
  assert.ok(gap >= 300 && gap <= 700, `pids 4242 and 4243 sample ${gap} ms apart`);
});

test('sample phase: the wait reaches the next k x period + phase, never 0', () => {
  assert.equal(untilPhase(10_000, 1000, 300), 300);
  assert.equal(untilPhase(10_250, 1000, 300), 50);
  assert.equal(untilPhase(10_300, 1000, 300), 1000);
  assert.equal(untilPhase(10_301, 1000, 300), 999);
  assert.equal(untilPhase(14_999, 5000, 0), 1);
  assert.equal(untilPhase(10_999, 5000, 0), 4001);
});
