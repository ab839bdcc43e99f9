import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { CgroupResolver } from '../../src/bpf/cgroups.ts';
import type { BpfHelper } from '../../src/bpf/helper.ts';
import type { KallsymsCache } from '../../src/bpf/kallsyms.ts';
import type { HelperOffcpu, HelperSnapshot } from '../../src/bpf/protocol.ts';
import { BlockedTracking } from '../../src/collect/bpf-tracking.ts';

const MS = 1e6;
const START = 1000 * MS;

/** The helper as the tracking sees it: replies given in advance, one per sample. */
function fakeHelper(replies: Array<{ offcpu: HelperOffcpu; pass: HelperSnapshot }>): BpfHelper {
  return {
    offcpuStart: async () => ({ startNs: START, locks: false }),
    sample: async () => replies.shift()!,
  } as unknown as BpfHelper;
}

const kallsyms = {
  symbols: () => ({ inSchedFunctions: () => false, knowsSchedText: false }),
  symbolizeAll: (stacks: bigint[][]) => stacks.map((s) => s.map((a) => `fn${a}+0x1/0x10`)),
} as unknown as KallsymsCache;
const cgroups = { beginCapture: () => {}, pathOf: () => '/test.slice' } as unknown as CgroupResolver;

const pass = (tasks: HelperSnapshot['tasks']): HelperSnapshot => ({ tasks, end: { threads: 100, walkNs: 1000 }, errors: [] });
const sum = (tid: number, ns: number, count: number, stack: bigint[]) => ({ tid, pid: tid, comm: `c${tid}`, cgroup: 1n, stack, ns, count });

test('tracking: per-sample blocked time per process and stack, the last minute summed for a capture', async () => {
  const legacy = {
    tid: 5,
    pid: 5,
    state: 'D' as const,
    blockedNs: 30_000n * 1_000_000n,
    comm: 'old',
    cgroups: [],
    stack: [0x50n],
    stackError: null,
  };
  const t = new BlockedTracking(
    fakeHelper([
      {
        offcpu: {
          sums: [sum(7, 300 * MS, 30, [0x70n])],
          open: [],
          nowNs: START + 1000 * MS,
          dropped: 0,
          lockDropped: 0,
          lockSums: [],
          lockOpen: [],
        },
        pass: pass([legacy]),
      },
      {
        offcpu: {
          sums: [sum(7, 200 * MS, 20, [0x70n]), sum(8, 1 * MS, 1, [0x80n])],
          open: [],
          nowNs: START + 2000 * MS,
          dropped: 0,
          lockDropped: 0,
          lockSums: [],
          lockOpen: [],
        },
        pass: pass([legacy]),
      },
    ]),
    kallsyms,
    cgroups,
    20,
  );
  assert.equal(await t.start(() => assert.fail('no warning expected')), true);
  const first = await t.sample();
  assert.equal(first.scan.d, 1);
  assert.equal(first.offcpu!.windowMs, 1000);
  assert.deepEqual(
    first.offcpu!.entries.map((e) => [e.pid, e.stack[0], e.ms, e.ended]).sort(),
    [
      [5, 'fn80+0x1/0x10', 1000, 0], // blocked since before the start: from the pass
      [7, 'fn112+0x1/0x10', 300, 30],
    ].sort(),
  );
  await t.sample();
  const s = t.summary(Date.now())!;
  assert.equal(s.window_ms, 2000);
  assert.ok(Math.abs(s.mean_d - (1000 + 300 + 1000 + 200 + 1) / 2000) < 0.001, String(s.mean_d));
  assert.deepEqual(
    s.stacks.map((x) => [x.pid, x.blocked_ms, x.ended]),
    [
      [5, 2000, 0],
      [7, 500, 50],
      [8, 1, 1],
    ],
  );
  // Nothing older than a minute is kept.
  assert.equal(t.summary(Date.now() + 61_000), null);
});

test('tracking: intervals lost to full kernel maps are said once, with how many', async () => {
  const said: string[] = [];
  const empty = { sums: [], open: [], lockSums: [], lockOpen: [], lockDropped: 0 };
  const t = new BlockedTracking(
    fakeHelper([
      { offcpu: { ...empty, nowNs: START + 1000 * MS, dropped: 0, lockDropped: 0, lockSums: [], lockOpen: [] }, pass: pass([]) },
      { offcpu: { ...empty, nowNs: START + 2000 * MS, dropped: 4 }, pass: pass([]) },
      { offcpu: { ...empty, nowNs: START + 3000 * MS, dropped: 9 }, pass: pass([]) },
    ]),
    kallsyms,
    cgroups,
    20,
  );
  await t.start((l) => said.push(l));
  for (let i = 0; i < 3; i++) await t.sample();
  assert.equal(said.length, 1, said.join('\n'));
  assert.match(said[0]!, /^4 blocked interval\(s\) were lost since the start: .* the time blocked in D reads low$/);
});
