import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  devString,
  LockAccount,
  type LockNaming,
  type LockOpen,
  type LockSum,
  type LockWait,
  lockKind,
  parseLockLine,
} from '../../src/bpf/locks.ts';
import { parseSampleReply } from '../../src/bpf/protocol.ts';
import type { LoadmonError } from '../../src/errors.ts';
import { fixture } from '../helpers/fixtures.ts';

const MS = 1e6;
const LOCK = 0xffff888142ba6db8n;
const naming: LockNaming = {
  staticName: (a) => (a === 0xffffffff83000100n ? 'cgroup_mutex' : null),
  devName: (d) => (d === '254:0' ? 'vda' : d),
};

function base(tid: number, owner: number, lock = LOCK, flags = 4) {
  return {
    lock,
    flags,
    tid,
    pid: 100,
    comm: 'dwriter',
    ownerTid: owner,
    ownerPid: owner ? 100 : 0,
    ownerComm: owner ? 'dw-t' : '',
    ownerProcessComm: owner ? 'dwriter' : '',
    ino: flags === 4 ? 5367562 : 0,
    dev: 266338304,
  };
}
const open = (tid: number, owner: number, startNs: number, lock = LOCK): LockOpen => ({ ...base(tid, owner, lock), startNs });
const sum = (tid: number, owner: number, ns: number, count = 1, lock = LOCK): LockSum => ({ ...base(tid, owner, lock), ns, count });
const total = (w: LockWait[], tid?: number) => w.filter((x) => tid === undefined || x.waiter.tid === tid).reduce((a, x) => a + x.ns, 0);

test('lock lines of a real sample reply: completed and open waits on an inode lock, no address past the parser', () => {
  const lines = fixture('bpf', 'sample-reply-locks.txt').trimEnd().split('\n').slice(2);
  const { offcpu, pass } = parseSampleReply(lines);
  assert.ok(offcpu);
  assert.equal(offcpu.lockSums.length, 6);
  assert.equal(offcpu.lockOpen.length, 4);
  assert.equal(offcpu.lockDropped, 0);
  assert.equal(pass.tasks.length, 7);
  const s = offcpu.lockSums[0]!;
  assert.deepEqual(
    [s.lock, s.flags, s.tid, s.pid, s.ownerTid, s.ownerPid, s.ns, s.count, s.ino, s.dev, s.comm, s.ownerComm],
    [LOCK, 4, 9055, 9052, 9057, 9052, 282984237, 174, 5367562, 266338304, 'wr', 'wr'],
  );
  // Owner unknown at the wait's start (a handoff in progress): no holder, comms empty.
  const none = offcpu.lockSums[2]!;
  assert.deepEqual([none.ownerTid, none.ownerComm, none.ownerProcessComm], [0, '', '']);
  assert.equal(offcpu.lockOpen[0]!.startNs, 344481752894);

  const waits = new LockAccount(naming).window({ ...offcpu, nowNs: offcpu.nowNs });
  assert.ok(waits.length > 0);
  for (const w of waits) {
    assert.equal(w.kind, 'rwsem');
    assert.equal(w.key, 'inode:254:0:5367562');
    assert.equal(w.name, 'i_rwsem of inode 5367562 on vda');
    assert.deepEqual(w.inode, { ino: 5367562, dev: '254:0' });
    assert.doesNotMatch(JSON.stringify(w), /ffff|18446/, 'no kernel address in a wait');
  }
  assert.deepEqual(waits.find((w) => w.waiter.tid === 9055 && w.holder?.tid === 9057)?.holder, { tid: 9057, pid: 9052, comm: 'wr' });
  assert.equal(waits.filter((w) => w.holder === null).length, 4);
});

test('lock lines: malformed ones are protocol errors', () => {
  for (const bad of [
    'l ffff 4 1 2 3 4 5 6 7 8 61 61',
    'w xyz 4 1 2 0 0 5 0 0 61 - -',
    'w ffff 4 1 2 0 0 -5 0 0 61 - -',
    'l ffff 4 1 2 3 4 5 6 7 8 6 - -',
    'q ffff 4 1 2 0 0 5 0 0 61 - -',
  ]) {
    assert.throws(
      () => parseLockLine(bad),
      (e: LoadmonError) => e.code === 'E_BPF_PROTOCOL',
      bad,
    );
  }
});

test('lock kinds from contention_begin flags; dev_t decoding', () => {
  assert.equal(lockKind(4), 'rwsem');
  assert.equal(lockKind(2), 'rwsem');
  assert.equal(lockKind(32), 'mutex');
  assert.equal(lockKind(8), 'rtmutex');
  assert.equal(lockKind(8 | 2), 'rwsem');
  assert.equal(lockKind(16 | 4), 'percpu-rwsem');
  assert.equal(lockKind(0), 'other');
  assert.equal(devString(266338304), '254:0');
  assert.equal(devString((259 << 20) | 1), '259:1');
});

test('lock account: an open wait is credited once, across the windows it spans', () => {
  const acc = new LockAccount(naming);
  const w1 = acc.window({ lockSums: [], lockOpen: [open(7, 8, 100 * MS)], nowNs: 1000 * MS });
  assert.equal(total(w1), 900 * MS);
  assert.equal(w1[0]!.ended, 0);
  const w2 = acc.window({ lockSums: [], lockOpen: [open(7, 8, 100 * MS)], nowNs: 2000 * MS });
  assert.equal(total(w2), 1000 * MS);
  const w3 = acc.window({ lockSums: [sum(7, 8, 2400 * MS)], lockOpen: [], nowNs: 3000 * MS });
  assert.equal(total(w3), 500 * MS);
  assert.equal(w3[0]!.ended, 1);
  assert.equal(total(w1) + total(w2) + total(w3), 2400 * MS);
});

test('lock account: a sum arriving a read late still pays what was credited; a new wait on the same lock is new', () => {
  const acc = new LockAccount(naming);
  acc.window({ lockSums: [], lockOpen: [open(7, 8, 0)], nowNs: 1000 * MS });
  // Ended at 1.2 s between the drain and the listing of open waits: in neither list.
  assert.equal(total(acc.window({ lockSums: [], lockOpen: [], nowNs: 2000 * MS })), 0);
  const w3 = acc.window({ lockSums: [sum(7, 8, 1200 * MS)], lockOpen: [open(7, 9, 2500 * MS)], nowNs: 3000 * MS });
  assert.equal(total(w3), 200 * MS + 500 * MS);
  assert.deepEqual(w3.map((w) => w.holder?.tid).sort(), [8, 9]);
});

test('lock account: keys are opaque and stable per address; static locks named by symbol; several waiters and owners', () => {
  const acc = new LockAccount(naming);
  const A = 0xffffffff83000100n;
  const B = 0xffff888100001000n;
  const mutex = (tid: number, owner: number, lock: bigint, ns: number): LockSum => ({ ...base(tid, owner, lock, 32), ns, count: 2 });
  const w1 = acc.window({
    lockSums: [mutex(1, 3, A, 5 * MS), mutex(2, 3, A, 7 * MS), mutex(1, 4, B, 1 * MS)],
    lockOpen: [],
    nowNs: 1000 * MS,
  });
  const a = w1.filter((w) => w.name === 'cgroup_mutex');
  assert.equal(a.length, 2);
  assert.equal(a[0]!.key, a[1]!.key);
  assert.equal(a[0]!.kind, 'mutex');
  assert.equal(a[0]!.inode, null);
  const b = w1.find((w) => w.name === null)!;
  assert.notEqual(b.key, a[0]!.key);
  assert.match(b.key, /^lock-\d+$/);
  assert.equal(b.ended, 2);
  const w2 = acc.window({ lockSums: [mutex(5, 3, A, 1 * MS)], lockOpen: [], nowNs: 2000 * MS });
  assert.equal(w2[0]!.key, a[0]!.key, 'the same address keeps its key');
});

test('static locks: the kallsyms data symbol holding the address, only where kallsyms has data symbols', async () => {
  const { KernelSymbols } = await import('../../src/bpf/kallsyms.ts');
  const all = KernelSymbols.parse(
    [
      'ffffffff81000000 T _stext',
      'ffffffff81001000 T some_function',
      'ffffffff82000000 T _etext',
      'ffffffff83000100 d cgroup_mutex',
      'ffffffff83000140 d cgroup_threadgroup_rwsem',
      'ffffffff83000200 b some_bss_object',
      'ffffffff83100000 b __bss_stop',
      // A CONFIG_KALLSYMS_ALL table is large; section markers alone do not make one.
      ...Array.from({ length: 1000 }, (_, i) => `ffffffff8320${(i * 64).toString(16).padStart(4, '0')} d filler_${i}`),
      'ffffffffc0001000 d mod_lock\t[somemod]',
    ].join('\n'),
  );
  assert.equal(all.dataSymbol(0xffffffff83000100n), 'cgroup_mutex');
  assert.equal(all.dataSymbol(0xffffffff83000148n), 'cgroup_threadgroup_rwsem');
  assert.equal(all.dataSymbol(0xffffffff83000000n), null, 'below the first');
  assert.equal(all.dataSymbol(0xffff888142ba6db8n), null, 'a heap lock');
  assert.equal(all.dataSymbol(0xffffffff83300000n), null, 'past the last');
  assert.equal(all.dataSymbol(0xffffffff83150000n), null, 'far past a symbol (64 KiB)');
  assert.equal(all.lookup(0xffffffff81001010n), 'some_function+0x10/0xfff000', 'data symbols do not cut functions');
  // This host (CONFIG_KALLSYMS_ALL off) has text symbols only: every lock is unnamed unless it is an inode's.
  const textOnly = KernelSymbols.parse(fixture('bpf', 'kallsyms-rwsem'));
  assert.equal(textOnly.dataSymbol(0xffffffff83000100n), null);
  const markersOnly = KernelSymbols.parse(
    'ffffffff81000000 T _stext\nffffffff82000000 T _etext\nffffffff83000000 D _sdata\nffffffff84000000 B __bss_start\n',
  );
  assert.equal(markersOnly.dataSymbol(0xffffffff83000100n), null, 'section markers are not objects');
});
