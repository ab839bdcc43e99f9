/**
 * The scenario suite's own logic, without workloads: its parsers on real
 * samples from a hybrid-cgroup Debian 12 machine (and hand-made container
 * and partition samples), and its checks on reports that are right and
 * wrong in each way, so that a wrong verdict cannot pass the suite.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import type { VerdictLine } from '../../src/analyze/verdict.ts';
import type { Report } from '../../src/model/report.ts';
import { emptyAtEnd } from '../helpers/report.ts';
import type { Facts } from '../scenarios/lib.ts';
import { evaluate, replayCheck, scenarios } from '../scenarios/scenarios.ts';
import { describe } from '../scenarios/summary.ts';
import { cgroupPathOf, majorMinor, parseCgroupMounts, statState, ueventDevname } from '../scenarios/system.ts';

const FIX = join(import.meta.dirname, '..', 'scenarios', 'fixtures');
const fixture = (name: string): string => readFileSync(join(FIX, name), 'utf8');

test('cgroup mounts: v1 controllers by hierarchy, the empty v2 one, name= hierarchies have no controller', () => {
  const m = parseCgroupMounts(fixture('mountinfo-hybrid.txt'));
  assert.equal(m.length, 10);
  assert.deepEqual(
    m.find((x) => x.dir === '/sys/fs/cgroup/memory'),
    { dir: '/sys/fs/cgroup/memory', root: '/', hierarchy: 'v1', controllers: ['memory'] },
  );
  assert.deepEqual(m.find((x) => x.dir === '/sys/fs/cgroup/systemd')!.controllers, []);
  assert.deepEqual(
    m.find((x) => x.hierarchy === 'v2'),
    { dir: '/sys/fs/cgroup/unified', root: '/', hierarchy: 'v2', controllers: [] },
  );
});

test('cgroup mounts in a container: the mounted root is kept, escaped mount points decoded, other file systems ignored', () => {
  const m = parseCgroupMounts(fixture('mountinfo-container-v2.txt'));
  assert.deepEqual(m, [{ dir: '/sys/fs/cgroup', root: '/system.slice/docker-1f2e.scope', hierarchy: 'v2', controllers: [] }]);
});

test('/proc/PID/cgroup: the line of a v1 controller, the v2 line', () => {
  const hybrid = fixture('proc-cgroup-hybrid.txt');
  assert.match(cgroupPathOf(hybrid, 'memory')!, /^\/process_api\/[0-9a-f]+$/);
  assert.equal(cgroupPathOf(hybrid, 'blkio'), '/');
  assert.equal(cgroupPathOf(hybrid, null), '/');
  assert.equal(cgroupPathOf(hybrid, 'io'), null);
  assert.equal(cgroupPathOf(fixture('proc-cgroup-v2.txt'), null), '/system.slice/docker-1f2e.scope/loadmon-x');
  assert.equal(cgroupPathOf(fixture('proc-cgroup-v2.txt'), 'memory'), null);
});

test('dev_t split like glibc, DEVNAME from uevent', () => {
  assert.equal(majorMinor(65024n), '254:0');
  assert.equal(majorMinor(66305n), '259:1');
  // A large minor (nvme partitions past 255): minor bits 8..19 live above bit 20.
  assert.equal(majorMinor((259n << 8n) | 0x05n | (0x1n << 20n)), '259:261');
  assert.equal(ueventDevname(fixture('uevent-vda.txt')), 'vda');
  assert.equal(ueventDevname(fixture('uevent-partition.txt')), 'nvme0n1p1');
  assert.equal(ueventDevname('MAJOR=1\n'), null);
});

test('thread state from stat: after the last parenthesis, whatever the comm holds', () => {
  assert.equal(statState('4242 (x) R (y) S 1 4242 4242 0 -1'), 'S');
  assert.equal(statState('17 (scen-vfork) D 16 16 16 0 -1 4194560'), 'D');
});

// ---------------------------------------------------------------- checks

function line(kind: VerdictLine['kind'], cause: VerdictLine['cause'], evidence: Record<string, unknown> = {}): VerdictLine {
  return { kind, cause, share: 4, text: `${kind} ${cause}`, evidence: { stacks: [], tasks: [], captures: [], ...evidence } } as VerdictLine;
}

function report(verdict: VerdictLine[], model = 5, kernel = 5): Report {
  return {
    verdict,
    captures: [],
    load: null,
    attribution: {
      method: 'replay',
      mean: null,
      at_end: emptyAtEnd(kernel, model),
    },
  } as unknown as Report;
}

const facts: Facts = {
  pids: [4242],
  inode: 131077,
  cgroupPaths: ['/loadmon-scenario-1-memcg-v1-0'],
  load1AtStart: 0.1,
  background: { r: 0, d: 0 },
  durationS: 27,
};
const byName = (n: string) => scenarios().find((s) => s.name === n)!;
const failed = (n: string, r: Report | Error, source: 'procfs' | 'bpf' = 'procfs') =>
  evaluate(byName(n), r, source, facts)
    .filter((c) => !c.ok)
    .map((c) => c.name);

test('checks: the first line must be the injected cause, not a later one', () => {
  assert.deepEqual(failed('vfork', report([line('uninterruptible', 'vfork')])), []);
  assert.deepEqual(failed('vfork', report([line('cpu-saturation', null), line('uninterruptible', 'vfork')])), [
    'first verdict line names cause vfork',
  ]);
  assert.deepEqual(failed('cpu', report([line('uninterruptible', 'vfork'), line('cpu-saturation', null)])), [
    'first verdict line is cpu-saturation',
  ]);
  assert.deepEqual(failed('cpu', report([])), ['first verdict line is cpu-saturation']);
  assert.deepEqual(failed('mixed', report([line('uninterruptible', 'vfork')])), ['a cpu-saturation line is present']);
});

test('checks: lock holder and lock name (bpf only), cgroup path and limit', () => {
  const chain = [
    {
      lock: { kind: 'rwsem', address: null, name: 'i_rwsem of inode 131077 on vda' },
      waiters: 5,
      waiter_threads: 5,
      waiter_processes: [],
      holder: { pid: 4242, tid: 4250, comm: 'scen-dsync-shar', state: 'D', stack: [] },
      holder_cause: 'block-io',
      other_holders: 0,
    },
  ];
  assert.deepEqual(failed('dsync-shared', report([line('uninterruptible', 'lock', { chain })]), 'bpf'), []);
  assert.deepEqual(failed('dsync-shared', report([line('uninterruptible', 'lock')]), 'procfs'), []);
  const wrongInode = [
    {
      ...chain[0],
      lock: { kind: 'rwsem', address: null, name: 'i_rwsem of inode 1310770 on vda' },
      holder: { ...chain[0]!.holder, pid: 1 },
    },
  ];
  assert.equal(failed('dsync-shared', report([line('uninterruptible', 'lock', { chain: wrongInode })]), 'bpf').length, 2);
  const cg = (path: string, limit: string) => ({
    cgroups: [{ path, limit, detail: '', at_limit: true, hierarchy: 'v1', ratio: 1, rate: 1, dev: null }],
  });
  const memcg = scenarios().find((s) => s.name === 'memcg-v1')!;
  if (!memcg.unavailable) {
    assert.deepEqual(failed('memcg-v1', report([line('uninterruptible', 'cgroup', cg(facts.cgroupPaths[0]!, 'memory'))])), []);
    assert.equal(failed('memcg-v1', report([line('uninterruptible', 'cgroup', cg('/other', 'memory'))])).length, 1);
    assert.equal(failed('memcg-v1', report([line('uninterruptible', 'memory', cg(facts.cgroupPaths[0]!, 'memory'))])).length, 1);
  }
});

test('checks: the replay within 10% of the kernel load1, a failed run fails every source', () => {
  assert.equal(replayCheck(report([], 5.4, 5)).ok, true);
  assert.equal(replayCheck(report([], 5.6, 5)).ok, false);
  assert.equal(replayCheck(report([], 4.4, 5)).ok, false);
  assert.equal(replayCheck({ ...report([]), attribution: { method: 'replay', mean: null, at_end: null } } as Report).ok, false);
  assert.deepEqual(failed('cpu', new Error('recorder died')), ['record and report with --source procfs']);
});

test('describe prints the first two lines with their evidence, and failures', () => {
  const devices = [
    {
      name: 'vda',
      dev: '254:0',
      util: 0.98,
      reads_s: 0,
      writes_s: 900,
      read_kib_s: 0,
      write_kib_s: 3600,
      await_ms: 1.2,
      in_flight: 4,
      queue: 3,
    },
  ];
  const out = describe(
    'bpf',
    report([line('uninterruptible', 'block-io', { devices }), line('cpu-saturation', null), line('uninterruptible', 'vfork')]),
  );
  assert.equal(out.filter((l) => /#\d/.test(l)).length, 2);
  assert.ok(
    out.some((l) => l.includes('device: vda util 0.98 await 1.20 ms in_flight 4')),
    out.join('\n'),
  );
  assert.match(describe('procfs', new Error('boom'))[0]!, /procfs: FAILED: boom/);
});
