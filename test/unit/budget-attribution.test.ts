import assert from 'node:assert/strict';
import { test } from 'node:test';

import { attributeLoad1, countsAt, EXP_1 } from '../../src/analyze/attribution.ts';
import type { ProcPoint, SamplePoint } from '../../src/store/reader.ts';

function point(t: number, state: 'scanned' | 'thinned' | 'low'): SamplePoint {
  return { t, load1: 1, load5: 1, load15: 1, scanned: state === 'scanned', thinned: state === 'thinned', r: null, d: null };
}

test('countsAt: a thinned sample borrows the nearest scanned one, never across a sample below the scan level', () => {
  const s = (['low', 'scanned', 'thinned', 'thinned', 'thinned', 'thinned', 'scanned', 'thinned', 'low', 'thinned'] as const).map((x, i) =>
    point(i * 1000, x),
  );
  assert.equal(countsAt(s, 1), 1);
  assert.equal(countsAt(s, 2), 1);
  assert.equal(countsAt(s, 3), 1, 'ties go to the earlier one');
  assert.equal(countsAt(s, 5), 6);
  assert.equal(countsAt(s, 7), 6);
  assert.equal(countsAt(s, 9), 9, 'only a sample below the scan level next to it: itself, booked as not scanned');
  assert.equal(countsAt(s, 0), 0);
});

/**
 * A simulated kernel as in attribution.test.ts, with the recorder's light
 * scan thinned to one sample in `stride` by --cpu-budget.
 */
function simulateThinned(stride: number, seconds: number) {
  let load = 2;
  const samples: SamplePoint[] = [];
  const procs: ProcPoint[] = [];
  let nextUpdate = 2300;
  const counts = [
    { pid: 1, r: 2, d: 0 },
    { pid: 2, r: 0, d: 4 },
  ];
  for (let i = 0, t = 0; t <= seconds * 1000; i++, t += 1000) {
    while (nextUpdate <= t) {
      load = load * EXP_1 + 6 * (1 - EXP_1);
      nextUpdate += 5000;
    }
    const l = Math.round(load * 100) / 100;
    const scanned = i % stride === 0;
    samples.push({ t, load1: l, load5: l, load15: l, scanned, thinned: !scanned, r: null, d: null });
    if (scanned) for (const c of counts) procs.push({ t, pid: c.pid, comm: `p${c.pid}`, cgroup: null, r: c.r, d: c.d });
  }
  return { samples, procs, kernel: samples[samples.length - 1]!.load1 };
}

test('replay with thinned samples: the per-process terms still add up to the kernel, nothing booked as not scanned', () => {
  for (const stride of [2, 6, 23]) {
    const { samples, procs, kernel } = simulateThinned(stride, 600);
    const a = attributeLoad1(samples, procs, 1000)!;
    assert.equal(a.not_scanned, 0, `stride ${stride}`);
    assert.ok(Math.abs(a.model_load1 - kernel) < 0.05, `stride ${stride}: ${a.model_load1} vs ${kernel}`);
    const p2 = a.processes.find((p) => p.pid === 2)!;
    assert.ok(Math.abs(p2.d - 4) < 0.05, `stride ${stride}: pid 2 D ${p2.d}`);
  }
});
