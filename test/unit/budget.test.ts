import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCpuBudget, parseRecord } from '../../src/cli/store-options.ts';
import type { LoadmonError } from '../../src/errors.ts';
import { MAX_STRIDE, ScanBudget, strideFor } from '../../src/record/budget.ts';

/** Which of `n` samples that want a scan get one, as a string of 1s and 0s. */
function pattern(b: ScanBudget, n: number, costMs: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const take = b.take();
    out += take ? '1' : '0';
    if (take) b.record(costMs);
  }
  return out;
}

test('strideFor: the smallest stride within the budget', () => {
  assert.equal(strideFor(60, 1, 1000), 6);
  assert.equal(strideFor(61, 1, 1000), 7);
  assert.equal(strideFor(10, 1, 1000), 1);
  assert.equal(strideFor(0, 1, 1000), 1);
  assert.equal(strideFor(230, 1, 1000), 23);
  assert.equal(strideFor(60, 1, 2000), 3);
  assert.equal(strideFor(60, 5, 1000), 2);
  assert.equal(strideFor(1e9, 1, 1000), MAX_STRIDE);
});

test('6% of a core at 1 s under a 1% budget: every 6th sample scans', () => {
  const b = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  // The first sample scans (nothing measured yet); from then on one in six.
  assert.equal(pattern(b, 13, 60), '1000001000001');
  assert.equal(b.stride, 6);
  assert.ok(Math.abs(b.costMs! - 60) < 1e-9);
});

test('the cost drops: back to every sample', () => {
  const b = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  pattern(b, 30, 60);
  assert.equal(b.stride, 6);
  // The running average comes down over a few scans, the stride with it.
  pattern(b, 60, 2);
  assert.equal(b.stride, 1);
  assert.equal(pattern(b, 5, 2), '11111');
});

test('hysteresis: a cost hovering at a boundary does not flap', () => {
  const b = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  // Around 20 ms: stride 3 once above it, and 19-21 ms never brings it down to 2 (that needs < 16 ms).
  pattern(b, 10, 21);
  assert.equal(b.stride, 3);
  const strides = new Set<number>();
  for (let i = 0; i < 200; i++) {
    if (b.take()) b.record(i % 2 === 0 ? 19 : 21);
    strides.add(b.stride);
  }
  assert.deepEqual([...strides], [3]);
});

test('hysteresis: the stride comes down once the cost fits with the margin', () => {
  const b = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  pattern(b, 20, 30);
  assert.equal(b.stride, 3);
  pattern(b, 100, 15);
  // 15 ms x 1.25 = 18.75 ms fits in 2 x 10 ms: stride 2, not 1.
  assert.equal(b.stride, 2);
});

test('one outlier does not stretch the period by itself', () => {
  const b = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  pattern(b, 10, 5);
  b.take();
  b.record(25);
  // Average 5 + 0.3 x 20 = 11 ms: stride 2, not the 3 that 25 ms alone would need.
  assert.equal(b.stride, 2);
});

test('no budget: every sample scans whatever it costs, the cost still measured', () => {
  const b = new ScanBudget({ budgetPct: null, sampleMs: 1000 });
  assert.equal(pattern(b, 8, 500), '11111111');
  assert.equal(b.stride, 1);
  assert.equal(b.costMs, 500);
});

test('--cpu-budget: a percent of one core, or off', () => {
  assert.equal(parseCpuBudget('1'), 1);
  assert.equal(parseCpuBudget('0.5%'), 0.5);
  assert.equal(parseCpuBudget(' 2.5 % '), 2.5);
  assert.equal(parseCpuBudget('OFF'), null);
  for (const bad of ['', '-1', '0', '0.001', '101', '1ms', 'x', '1%%']) {
    assert.throws(
      () => parseCpuBudget(bad),
      (e: LoadmonError) => e.code === 'E_INVALID_OPTION' && e.message.includes('--cpu-budget'),
      bad,
    );
  }
  assert.equal(parseRecord({}).cpuBudgetPct, 1);
  assert.equal(parseRecord({ cpuBudget: 'off' }).cpuBudgetPct, null);
});
