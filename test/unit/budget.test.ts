import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { parseCpuBudget, parseRecord } from '../../src/cli/store-options.ts';
import type { LoadmonError } from '../../src/errors.ts';
import { MAX_STRIDE, MIN_SCAN_SHARE, ScanBudget, strideFor } from '../../src/record/budget.ts';
import { type ScanResult, type ScanSource, TimelineSampler } from '../../src/record/sampler.ts';
import { FIXTURES } from '../helpers/fixtures.ts';

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

/**
 * `n` periods of 1 s in which the process used `restMs` of CPU besides the
 * light scans, each scan costing `scanMs`, as the recorder books them.
 */
function run(b: ScanBudget, n: number, scanMs: number, restMs: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const take = b.take();
    out += take ? '1' : '0';
    if (take) b.record(scanMs);
    b.period({ cpuMs: restMs + (take ? scanMs : 0), wallMs: 1000 }, false);
  }
  return out;
}

test('the rest of the recorder counts: the scans get what it leaves of the budget', () => {
  const b = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  run(b, 60, 60, 4);
  // The scans' own ms are taken out of each period: the rest is 4 ms a second, 0.4%.
  assert.ok(Math.abs(b.restPct! - 0.4) < 1e-9, `rest ${b.restPct}`);
  // 60 ms per scan in the 0.6% left: 6 ms a second, one scan in 10 (6 without the rest).
  assert.equal(b.stride, 10);
  const p = run(b, 30, 60, 4);
  assert.equal(p, '100000000010000000001000000000');
  // What the whole process used over those 30 s stays within 1% of a core.
  const used = 30 * 4 + [...p].filter((c) => c === '1').length * 60;
  assert.ok(used <= 0.01 * 30_000, `${used} ms in 30 s`);
});

test('the rest fills the budget: the scans keep their least share', () => {
  const b = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  run(b, 60, 60, 20);
  assert.ok(Math.abs(b.restPct! - 2) < 1e-9);
  assert.equal(b.stride, strideFor(60, 1 * MIN_SCAN_SHARE, 1000));
  assert.equal(b.stride, 24);
});

test('a period next to a capture is not booked: captures are outside the budget', () => {
  const b = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  b.period({ cpuMs: 3, wallMs: 1000 }, false);
  // Booked one period late: nothing yet.
  assert.equal(b.restPct, null);
  // A capture stored in the next period: neither that one nor the one before it is booked.
  b.period({ cpuMs: 400, wallMs: 1000 }, true);
  assert.equal(b.restPct, null);
  b.period({ cpuMs: 5, wallMs: 1000 }, false);
  assert.equal(b.restPct, null);
  b.period({ cpuMs: 5, wallMs: 1000 }, false);
  assert.ok(Math.abs(b.restPct! - 0.5) < 1e-9, `only the 5 ms period: ${b.restPct}`);
});

test('the rest comes down: so does the stride, with the hysteresis', () => {
  const b = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  run(b, 60, 30, 6);
  // 30 ms in the 0.4% left: one in 8.
  assert.equal(b.stride, 8);
  run(b, 300, 30, 0);
  // 30 ms x 1.25 = 37.5 ms fits 1% at one in 4, and 30 ms needs one in 3: the margin keeps 4.
  assert.equal(b.stride, 4);
});

test('no budget: the periods are measured, the stride stays 1', () => {
  const b = new ScanBudget({ budgetPct: null, sampleMs: 1000 });
  assert.equal(run(b, 10, 500, 50), '1111111111');
  assert.ok(Math.abs(b.restPct! - 5) < 1e-9);
  assert.equal(b.stride, 1);
});

/** A scan source that says what its scan cost, and burns some CPU the sampler must not book instead. */
function reportingSource(cpuMs: number | undefined): ScanSource & { scans: number } {
  return {
    always: false,
    scans: 0,
    scan(): ScanResult {
      this.scans++;
      const end = process.cpuUsage().user + 20_000;
      while (process.cpuUsage().user < end) {
        // Spin 20 ms of user CPU: what a source that measures itself leaves out (not its scan).
      }
      return { scan: { r: 1, d: 0, procs: [{ pid: 4, comm: 'x', cgroup: null, r: 1, d: 0 }] }, ...(cpuMs === undefined ? {} : { cpuMs }) };
    },
    close() {},
  };
}

test('the sampler books the CPU the source reports for its own scan, and thins the due samples', async () => {
  const budget = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  const source = reportingSource(60);
  // The fixture's load1 is 5.25: a scan is due at every sample.
  const sampler = new TimelineSampler({ procRoot: join(FIXTURES, 'proc-tree'), scanAbove: 1, scan: source, budget });
  const got: string[] = [];
  for (let i = 0; i < 7; i++) {
    const s = await sampler.sample(i * 1000);
    got.push(s.scan ? 'scan' : s.thinned ? 'thinned' : 'low');
  }
  sampler.close();
  assert.equal(budget.costMs, 60);
  assert.deepEqual(got, ['scan', ...Array(5).fill('thinned'), 'scan']);
  assert.equal(source.scans, 2);
});

test('a source that does not measure itself: the process CPU across the call is booked', async () => {
  const budget = new ScanBudget({ budgetPct: 1, sampleMs: 1000 });
  const sampler = new TimelineSampler({ procRoot: join(FIXTURES, 'proc-tree'), scanAbove: 1, scan: reportingSource(undefined), budget });
  await sampler.sample(0);
  sampler.close();
  assert.ok(budget.costMs! >= 20, `at least the 20 ms spun: ${budget.costMs}`);
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
