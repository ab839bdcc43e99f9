import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { CAUSE_RULES, CAUSES, classifyStack } from '../../src/analyze/causes.ts';
import { aggregateStacks } from '../../src/analyze/stacks.ts';
import { decideVerdict } from '../../src/analyze/verdict.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { FIXTURES, fixture } from '../helpers/fixtures.ts';

type Fixture = Snapshot & { _expect: string };
const names = readdirSync(join(FIXTURES, 'verdict')).filter((n) => n.endsWith('.json'));
const load = (n: string): Fixture => JSON.parse(fixture('verdict', n)) as Fixture;

test('verdict fixtures cover every cause of the rule table', () => {
  const covered = new Set(names.map((n) => load(n)._expect));
  assert.deepEqual([...covered].sort(), Object.keys(CAUSES).sort());
});

for (const name of names) {
  test(`cause rule: ${name}`, () => {
    const snap = load(name);
    const d = snap.tasks.filter((t) => t.state === 'D');
    const c = classifyStack(d[0]!.stack);
    assert.equal(c.cause, snap._expect, `${name}: decided by ${c.frame}`);
    // The verdict names that cause, cites the stack, the tasks and the capture.
    const lines = decideVerdict({
      cpus: snap.cpus,
      meanR: 1,
      meanD: d.length,
      maxLoad1: snap.loadavg.load1,
      threshold: 3,
      topR: [],
      stacks: aggregateStacks([{ id: 7, snapshot: snap }]),
    });
    const line = lines.find((l) => l.kind === 'uninterruptible');
    assert.ok(line, JSON.stringify(lines));
    assert.equal(line.cause, snap._expect);
    assert.ok(line.text.includes(CAUSES[c.cause].label), line.text);
    assert.deepEqual(line.evidence.captures, [7]);
    assert.deepEqual(line.evidence.tasks.map((t) => t.tid).sort(), d.map((t) => t.tid).sort());
    assert.equal(line.evidence.stacks[0]!.count, d.length);
    assert.ok(
      line.evidence.stacks[0]!.frames.every((f) => !/\+0x/.test(f)),
      'frames are normalised',
    );
  });
}

test('cause rules: order decides (reclaim ending in io_schedule is memory, not block I/O)', () => {
  const memory = load('memory.json').tasks[0]!.stack;
  assert.ok(memory.some((f) => f.startsWith('io_schedule')));
  assert.equal(classifyStack(memory).cause, 'memory');
  const rank = (c: string): number => CAUSE_RULES.findIndex((r) => r.cause === c);
  assert.ok(rank('memory') < rank('block-io'));
  assert.equal(classifyStack([]).cause, 'unknown');
  assert.equal(classifyStack(['nfs_getattr+0x175/0x450 [nfs]']).cause, 'netfs');
});

test('verdict: CPU saturation when R >= CPUs, severe at twice, with the R tasks as evidence', () => {
  const topR = [{ pid: 1, tid: 1, comm: 'spin', cgroup: null }];
  const sat = decideVerdict({ cpus: 2, meanR: 2.5, meanD: 0, maxLoad1: 2.6, threshold: 2, topR, stacks: [] });
  assert.equal(sat[0]!.kind, 'cpu-saturation');
  assert.doesNotMatch(sat[0]!.text, /severe/);
  assert.deepEqual(sat[0]!.evidence.tasks, topR);
  const severe = decideVerdict({ cpus: 2, meanR: 4.2, meanD: 0, maxLoad1: 4.4, threshold: 2, topR, stacks: [] });
  assert.match(severe[0]!.text, /^severe CPU saturation/);
});

test('verdict: both kinds, largest share first; below the rules, no overload', () => {
  const snap = load('vfork.json');
  const stacks = aggregateStacks([{ id: 1, snapshot: snap }]);
  const both = decideVerdict({ cpus: 2, meanR: 2, meanD: 6, maxLoad1: 8, threshold: 3, topR: [], stacks });
  assert.deepEqual(
    both.map((l) => l.kind),
    ['uninterruptible', 'cpu-saturation'],
  );
  const none = decideVerdict({ cpus: 4, meanR: 1, meanD: 0.2, maxLoad1: 1.3, threshold: 3, topR: [], stacks: [] });
  assert.equal(none.length, 1);
  assert.equal(none[0]!.kind, 'no-overload');
  const noCapture = decideVerdict({ cpus: 2, meanR: 0, meanD: 3, maxLoad1: 3, threshold: 3, topR: [], stacks: [] });
  assert.equal(noCapture[0]!.cause, 'unknown');
  assert.match(noCapture[0]!.text, /no capture/);
});

test('verdict: measured time blocked in D (bpf) splits the D load by cause, ahead of the captures', () => {
  const blocked = [
    {
      frames: ['folio_wait_bit_common', 'filemap_fault', '__do_fault'],
      cause: 'memory' as const,
      blocked_s: 30,
      mean_d: 3,
      intervals: 900,
      processes: [{ pid: 12, comm: 'java', blocked_s: 30 }],
    },
    {
      frames: ['kernel_clone', '__do_sys_vfork'],
      cause: 'vfork' as const,
      blocked_s: 9,
      mean_d: 0.9,
      intervals: 1,
      processes: [{ pid: 13, comm: 'sh', blocked_s: 9 }],
    },
    {
      frames: ['rwsem_down_read_slowpath'],
      cause: 'lock' as const,
      blocked_s: 1,
      mean_d: 0.1,
      intervals: 40,
      processes: [{ pid: 14, comm: 'x', blocked_s: 1 }],
    },
  ];
  // The only capture saw the vfork task: the measured split wins.
  const snap = load(names.find((n) => load(n)._expect === 'vfork')!);
  const lines = decideVerdict({
    cpus: 2,
    meanR: 0.5,
    meanD: 4,
    maxLoad1: 5,
    threshold: 3,
    topR: [],
    stacks: aggregateStacks([{ id: 3, snapshot: snap }]),
    blocked,
  });
  const d = lines.filter((l) => l.kind === 'uninterruptible');
  assert.deepEqual(
    d.map((l) => l.cause),
    ['memory', 'vfork'],
    'causes under 10% of the blocked time are left out',
  );
  assert.match(d[0]!.text, /75% of the time blocked in D \(measured\), ~3\.00 of the 4\.00 D threads/);
  assert.deepEqual(d[0]!.evidence.stacks, [{ frames: blocked[0]!.frames, count: 900 }]);
  assert.equal(d[0]!.evidence.tasks[0]!.pid, 12);
  assert.deepEqual(d[0]!.evidence.captures, []);
  assert.deepEqual(d[1]!.evidence.captures, [3], 'captures of the same cause are cited');
});
