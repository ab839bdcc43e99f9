/**
 * watch's eBPF tracking timer (BlockedTracking.runTimer): every second at or
 * above the pace level (half the threshold), every 10 s below it, and a
 * sample at once when the load rises, so a capture finds the ledger current.
 */

import assert from 'node:assert/strict';
import { mock, test } from 'node:test';

import type { CgroupResolver } from '../../src/bpf/cgroups.ts';
import type { BpfHelper } from '../../src/bpf/helper.ts';
import type { KallsymsCache } from '../../src/bpf/kallsyms.ts';
import { BlockedTracking, SLOW_TRACK_MS } from '../../src/collect/bpf-tracking.ts';

test('the tracking timer follows the load: 1 s, 10 s below the level, and a sample at once on the rise', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let samples = 0;
    const helper = {
      sample: async () => {
        samples++;
        return { offcpu: null, pass: { tasks: [], end: { threads: 1, walkNs: 1 }, errors: [] } };
      },
    } as unknown as BpfHelper;
    const cgroups = { beginCapture: () => {}, pathOf: () => null } as unknown as CgroupResolver;
    const t = new BlockedTracking(helper, {} as KallsymsCache, cgroups, 20);
    const flush = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };
    const advance = async (ms: number): Promise<void> => {
      mock.timers.tick(ms);
      await flush();
    };

    t.runTimer(1000);
    assert.equal(t.periodMs, 1000);
    await advance(1000);
    assert.equal(samples, 1);
    t.pace(0.2, 1.5);
    assert.equal(t.periodMs, SLOW_TRACK_MS);
    // The timer armed before the load was known still fires at 1 s; the next one waits 10 s.
    await advance(1000);
    assert.equal(samples, 2);
    await advance(SLOW_TRACK_MS - 1);
    assert.equal(samples, 2);
    await advance(1);
    assert.equal(samples, 3);
    t.pace(0.3, 1.5); // still low: nothing changes
    await advance(5000);
    assert.equal(samples, 3);
    t.pace(1.5, 1.5); // at the level: sample now, then every second
    await flush();
    assert.equal(samples, 4);
    assert.equal(t.periodMs, 1000);
    await advance(1000);
    assert.equal(samples, 5);
    t.stop();
    await advance(SLOW_TRACK_MS);
    assert.equal(samples, 5);
  } finally {
    mock.timers.reset();
  }
});
