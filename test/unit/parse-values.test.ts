import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseDuration, parseIntInRange, parseThreshold } from '../../src/cli/parse-values.ts';
import { LoadmonError } from '../../src/errors.ts';
import { resolveThreshold } from '../../src/model/options.ts';
import { formatDuration } from '../../src/model/time.ts';

function rejects(fn: () => unknown, option: string): void {
  assert.throws(fn, (e: unknown) => e instanceof LoadmonError && e.exitStatus === 2 && e.message.includes(option));
}

test('durations: ms, s, m, h and decimals', () => {
  assert.equal(parseDuration('--interval', '10ms'), 10);
  assert.equal(parseDuration('--interval', '20s'), 20_000);
  assert.equal(parseDuration('--interval', '1.5s'), 1500);
  assert.equal(parseDuration('--interval', '2m'), 120_000);
  assert.equal(parseDuration('--interval', '1h'), 3_600_000);
  assert.equal(parseDuration('--cooldown', '0s', { allowZero: true }), 0);
});

test('durations: bad values name the option', () => {
  for (const bad of ['', '0ms', '-5s', 'abc', '10', '10 parsecs', '5d', '0.1ms', 's', '1e3s'])
    rejects(() => parseDuration('--interval', bad), '--interval');
  rejects(() => parseDuration('--cooldown', '-1s', { allowZero: true }), '--cooldown');
});

test('thresholds: absolute and per-CPU', () => {
  assert.deepEqual(parseThreshold('--threshold', '3'), { value: 3, perCpu: false, text: '3' });
  assert.deepEqual(parseThreshold('--threshold', '0.75/cpu'), { value: 0.75, perCpu: true, text: '0.75/cpu' });
  assert.equal(resolveThreshold(parseThreshold('--threshold', '0.75/cpu'), 8), 6);
  assert.equal(resolveThreshold(parseThreshold('--threshold', '1.5'), 8), 1.5);
  for (const bad of ['', '-1', 'high', '3/core', '1/cpu/cpu']) rejects(() => parseThreshold('--threshold', bad), '--threshold');
});

test('integers in range', () => {
  assert.equal(parseIntInRange('--depth', '20', 0, 64), 20);
  for (const bad of ['-1', '65', '1.5', 'x', '']) rejects(() => parseIntInRange('--depth', bad, 0, 64), '--depth');
});

test('formatDuration picks the largest exact unit', () => {
  assert.equal(formatDuration(10), '10ms');
  assert.equal(formatDuration(20_000), '20s');
  assert.equal(formatDuration(120_000), '2m');
  assert.equal(formatDuration(1500), '1500ms');
});
