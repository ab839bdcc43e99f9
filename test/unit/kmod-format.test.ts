import assert from 'node:assert/strict';
import { test } from 'node:test';

import { kmodToSnapshot } from '../../src/collect/kmod.ts';
import { LoadmonError } from '../../src/errors.ts';
import { parseLoadMonitor, unescapeComm } from '../../src/kmod/format.ts';
import { fixture } from '../helpers/fixtures.ts';

test('two snapshots, newest last, every field', () => {
  const all = parseLoadMonitor(fixture('kmod', 'two-snapshots.txt'));
  assert.equal(all.length, 2);
  const [a, b] = all;
  assert.equal(a!.seq, 7);
  assert.equal(a!.timeNs, 1764000045123456789n);
  assert.deepEqual([a!.load1, a!.load5, a!.load15], [3.12, 1.2, 0.4]);
  assert.deepEqual([a!.cpus, a!.threads, a!.running, a!.uninterruptible, a!.dropped, a!.walkNs, a!.depth], [2, 2143, 3, 2, 0, 812345, 20]);
  assert.equal(a!.tasks.length, 5);
  assert.deepEqual(a!.tasks[0], {
    tid: 415,
    pid: 412,
    state: 'D',
    comm: 'vfork parent',
    stack: ['kernel_clone+0x1af/0x3e0', '__do_sys_vfork+0x43/0x70', 'do_syscall_64+0x5b/0x190', 'entry_SYSCALL_64_after_hwframe+0x44/0xa9'],
  });
  assert.equal(a!.tasks[3]!.comm, 'x) R (y');
  assert.deepEqual(a!.tasks[4]!.stack, ['nfs_wait_bit_killable+0x1e/0x90 [nfs]', '?']);
  assert.equal(b!.seq, 8);
  assert.deepEqual(b!.tasks[0]!.stack, []);
});

test('hostile comms round-trip: newline, parens, backslashes, UTF-8', () => {
  const [s] = parseLoadMonitor(fixture('kmod', 'hostile-comm.txt'));
  assert.equal(s!.tasks[0]!.comm, 'a\nD) \\\\x41');
  assert.equal(s!.tasks[1]!.comm, '中文');
  assert.equal(unescapeComm('a\\x20b'), 'a b');
});

test('header only: no snapshots yet', () => {
  assert.deepEqual(parseLoadMonitor(fixture('kmod', 'empty.txt')), []);
});

test('malformed input is rejected with the line number', () => {
  const bad: Array<[string, RegExp]> = [
    [fixture('kmod', 'truncated.txt'), /no end line/],
    [fixture('kmod', 'future-version.txt'), /version 2 is not supported/],
    ['', /empty/],
    ['hello\n', /line 1/],
    ['load_monitor 1\ntask tid=1 pid=1 state=R comm=x\n', /line 2: task line outside/],
    ['load_monitor 1\nsnapshot seq=1\n', /line 2: missing time_ns/],
    ['load_monitor 1\nfoo bar\n', /unknown line kind/],
    [
      'load_monitor 1\nsnapshot seq=1 time_ns=1 load1=1 load5=1.00 load15=1.00 cpus=1 threads=1 running=0 uninterruptible=0 ' +
        'dropped=0 walk_ns=1 depth=1\nend seq=1\n',
      /load1=1 is not a load/,
    ],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseLoadMonitor(text),
      (e: unknown) => e instanceof LoadmonError && re.test(e.message),
      String(re),
    );
  }
  assert.throws(() => unescapeComm('a\\q'), /bad escape/);
  assert.throws(() => unescapeComm('a b'), /unescaped byte/);
});

test('kmod snapshot converts to loadmon.snapshot/v1 with source kmod', () => {
  const [k] = parseLoadMonitor(fixture('kmod', 'dropped.txt'));
  const s = kmodToSnapshot(k!, null);
  assert.equal(s.source, 'kmod');
  assert.equal(s.schema, 'loadmon.snapshot/v1');
  assert.equal(s.time, new Date(Number(1764000045000000000n / 1_000_000n)).toISOString());
  assert.equal(s.capture.dropped, 42);
  assert.equal(s.capture.seq, 2);
  assert.equal(s.capture.ms, 2.5);
  assert.equal(s.capture.threads_scanned, 2300);
  assert.equal(s.tasks.length, 2);
  assert.ok(s.tasks.every((t) => t.state === 'D' && t.cgroup === null && t.wchan === null));
  assert.ok(s.notes[0]!.includes('42'));
});
