import assert from 'node:assert/strict';
import { test } from 'node:test';

import { attributeLoad1, EXP_1, updateInstants } from '../../src/analyze/attribution.ts';
import type { ProcPoint, SamplePoint } from '../../src/store/reader.ts';

/**
 * A simulated kernel: updates load1 every 5 s at a phase the replay does not
 * know, from per-process counts that change over time; the recorder samples
 * every second and sees load1 rounded to two decimals, as /proc/loadavg
 * prints it.
 */
function simulate(phaseMs: number, seconds: number, counts: (t: number) => Array<{ pid: number; r: number; d: number }>, load0: number) {
  let load = load0;
  const samples: SamplePoint[] = [];
  const procs: ProcPoint[] = [];
  let nextUpdate = phaseMs;
  for (let t = 0; t <= seconds * 1000; t += 1000) {
    while (nextUpdate <= t) {
      const n = counts(nextUpdate).reduce((a, c) => a + c.r + c.d, 0);
      load = load * EXP_1 + n * (1 - EXP_1);
      nextUpdate += 5000;
    }
    const l = Math.round(load * 100) / 100;
    samples.push({ t, load1: l, load5: l, load15: l, scanned: true, r: null, d: null });
    for (const c of counts(t)) procs.push({ t, pid: c.pid, comm: `p${c.pid}`, cgroup: c.pid < 3 ? '/a' : '/b', r: c.r, d: c.d });
  }
  return { samples, procs, kernel: samples[samples.length - 1]!.load1 };
}

test('replay: contributions sum to the kernel load1, whatever the update phase', () => {
  for (const phase of [300, 2100, 4900]) {
    // pid 1: 2 R all along; pid 2: 4 D from 60 s; pid 3: 1 D until 100 s.
    const counts = (t: number) => [
      { pid: 1, r: 2, d: 0 },
      { pid: 2, r: 0, d: t >= 60_000 ? 4 : 0 },
      { pid: 3, r: 0, d: t < 100_000 ? 1 : 0 },
    ];
    const { samples, procs, kernel } = simulate(phase, 180, counts, 1.5);
    const a = attributeLoad1(samples, procs, 1000)!;
    const sum = a.processes.reduce((x, c) => x + c.total, 0);
    assert.ok(Math.abs(sum + a.before_window - kernel) < 0.05, `phase ${phase}: ${sum} + ${a.before_window} vs ${kernel}`);
    const p1 = a.processes.find((c) => c.pid === 1)!;
    assert.ok(Math.abs(p1.r - 2 * (1 - EXP_1 ** 36)) < 0.05, `pid 1 R ${p1.r}`);
    const p3 = a.processes.find((c) => c.pid === 3)!;
    // 20 updates with 1 D, then 16 without: it decays, it does not vanish.
    const want3 = (1 - EXP_1 ** 20) * EXP_1 ** 16;
    assert.ok(Math.abs(p3.d - want3) < 0.05, `pid 3 has decayed: ${p3.d} vs ${want3}`);
    assert.ok(Math.abs(a.states.R + a.states.D - sum) < 1e-9);
    assert.deepEqual(
      a.cgroups.map((c) => c.key),
      ['/a', '/b'],
    );
  }
});

test('replay: update instants are anchored on the last change of the averages', () => {
  const { samples } = simulate(2100, 60, () => [{ pid: 1, r: 3, d: 0 }], 0);
  const u = updateInstants(samples, 1000);
  assert.ok(u.length >= 11 && u.length <= 12);
  for (const x of u)
    assert.ok(
      Math.abs((((x - 2100) % 5000) + 5000) % 5000) <= 1000 || Math.abs(((((x - 2100) % 5000) + 5000) % 5000) - 5000) <= 1000,
      `${x}`,
    );
});

test('replay: samples without a scan are booked as "not scanned", from the kernel step', () => {
  const { samples, procs, kernel } = simulate(1000, 120, () => [{ pid: 1, r: 0, d: 3 }], 0);
  const unscanned = samples.map((s) => ({ ...s, scanned: s.t >= 60_000 }));
  const a = attributeLoad1(
    unscanned,
    procs.filter((p) => p.t >= 60_000),
    1000,
  )!;
  assert.ok(a.not_scanned > 0);
  assert.ok(Math.abs(a.model_load1 - kernel) < 0.15 * kernel, `${a.model_load1} vs ${kernel}`);
});
