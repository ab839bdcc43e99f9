/**
 * watch's eBPF tracking timer (BlockedTracking.runTimer): every second at or
 * above the pace level (half the threshold); below it every 30 s, taken on
 * the watcher's heartbeat (a pace() call) when one is nearly due so the two
 * share a wake-up, with the timer as the backstop; and a sample at once when
 * the load rises, so a capture finds the ledger current.
 */

import assert from 'node:assert/strict';
import { mock, test } from 'node:test';

import type { CgroupResolver } from '../../src/bpf/cgroups.ts';
import type { BpfHelper } from '../../src/bpf/helper.ts';
import type { KallsymsCache } from '../../src/bpf/kallsyms.ts';
import { BlockedTracking, SLOW_TRACK_MS } from '../../src/collect/bpf-tracking.ts';

test('the tracking timer follows the load: 1 s, 30 s below the level on the heartbeat, and a sample at once on the rise', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let samples = 0;
    let clock = 0;
    const helper = {
      sample: async () => {
        samples++;
        return { offcpu: null, pass: { tasks: [], end: { threads: 1, walkNs: 1 }, errors: [] } };
      },
    } as unknown as BpfHelper;
    const cgroups = { beginCapture: () => {}, pathOf: () => null } as unknown as CgroupResolver;
    const t = new BlockedTracking(helper, {} as KallsymsCache, cgroups, 20, { now: () => clock });
    const flush = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };
    const advance = async (ms: number): Promise<void> => {
      clock += ms;
      mock.timers.tick(ms);
      await flush();
    };

    t.runTimer(1000);
    assert.equal(t.periodMs, 1000);
    await advance(1000);
    assert.equal(samples, 1);
    t.pace(0.2, 1.5); // a sample 0 s ago: not due
    await flush();
    assert.equal(samples, 1);
    assert.equal(t.periodMs, SLOW_TRACK_MS);
    // The timer armed before the load was known still fires at 1 s; the next one waits 30 s.
    await advance(1000);
    assert.equal(samples, 2);
    await advance(5000);
    t.pace(0.3, 1.5); // an update 5 s later, still low: not due
    await flush();
    assert.equal(samples, 2);
    // The heartbeat 30 s after the last sample (a little before the timer): the sample rides it.
    await advance(SLOW_TRACK_MS - 5000 - 10);
    assert.equal(samples, 2);
    t.pace(0.3, 1.5);
    await flush();
    assert.equal(samples, 3);
    // The timer was re-armed from that sample: it does not fire 10 ms later as well.
    await advance(10);
    assert.equal(samples, 3);
    // No heartbeat (a watcher without the waiter that stopped calling): the timer is the backstop.
    await advance(SLOW_TRACK_MS - 10);
    assert.equal(samples, 4);
    t.pace(1.5, 1.5); // at the level: sample now, then every second
    await flush();
    assert.equal(samples, 5);
    assert.equal(t.periodMs, 1000);
    t.pace(1.6, 1.5); // still at the level: nothing extra
    await flush();
    assert.equal(samples, 5);
    await advance(1000);
    assert.equal(samples, 6);
    t.stop();
    await advance(SLOW_TRACK_MS);
    assert.equal(samples, 6);
  } finally {
    mock.timers.reset();
  }
});
