import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCgroup } from '../../src/procfs/cgroup.ts';
import { countCpus } from '../../src/procfs/cpus.ts';
import { LoadavgParseError, parseLoad1, parseLoadavg } from '../../src/procfs/loadavg.ts';
import { normalizeFrame, parseStack } from '../../src/procfs/stack.ts';
import { parseWchan } from '../../src/procfs/wchan.ts';
import { fixture } from '../helpers/fixtures.ts';

test('loadavg: all five fields', () => {
  assert.deepEqual(parseLoadavg(fixture('loadavg', 'high.txt')), {
    load1: 12.34,
    load5: 8.01,
    load15: 3.5,
    runnable: 17,
    threads: 2143,
  });
  assert.deepEqual(parseLoadavg(fixture('loadavg', 'idle.txt')), { load1: 0, load5: 0, load15: 0, runnable: 1, threads: 64 });
  const real = parseLoadavg(fixture('loadavg', 'real.txt'));
  assert.ok(real.load1 >= 0 && real.threads! > 0);
});

test('loadavg: garbage is an error', () => {
  for (const bad of ['', 'a b c', '1.0 2.0', '-1 0 0 1/2 3']) assert.throws(() => parseLoadavg(bad), LoadavgParseError);
});

test('parseLoad1 reads the first field from bytes', () => {
  const b = Buffer.from('12.34 8.01 3.50 17/2143 99123\n');
  assert.equal(parseLoad1(b, b.length), 12.34);
  const z = Buffer.from('0.05 0 0');
  assert.equal(parseLoad1(z, z.length), 0.05);
  const i = Buffer.from('7 1 1');
  assert.equal(parseLoad1(i, i.length), 7);
  assert.ok(Number.isNaN(parseLoad1(Buffer.from('x'), 1)));
});

test('stack: strips the [<0>] prefix, keeps offsets, innermost first', () => {
  assert.deepEqual(parseStack(fixture('stack', 'vfork.txt'), 20), [
    'kernel_clone+0x1d3/0x400',
    '__do_sys_vfork+0x66/0x90',
    'do_syscall_64+0x71/0x290',
    'entry_SYSCALL_64_after_hwframe+0x76/0x7e',
  ]);
});

test('stack: real addresses are never kept; module suffix stays', () => {
  const frames = parseStack(fixture('stack', 'addresses-module.txt'), 20);
  assert.equal(frames[0], 'nfs_wait_bit_killable+0x1e/0x90 [nfs]');
  for (const f of frames) assert.doesNotMatch(f, /ffff|\[</);
});

test('stack: depth limit, frames without offsets, empty stack', () => {
  assert.deepEqual(parseStack(fixture('stack', 'vfork.txt'), 2), ['kernel_clone+0x1d3/0x400', '__do_sys_vfork+0x66/0x90']);
  assert.deepEqual(parseStack(fixture('stack', 'no-offsets.txt'), 20), ['io_schedule', 'folio_wait_bit_common', 'filemap_fault']);
  assert.deepEqual(parseStack(fixture('stack', 'empty.txt'), 20), []);
  assert.deepEqual(parseStack(fixture('stack', 'kthreadd.txt'), 0), []);
});

test('normalizeFrame strips offsets only', () => {
  assert.equal(normalizeFrame('kernel_clone+0x1af/0x3e0'), 'kernel_clone');
  assert.equal(normalizeFrame('nfs_wait_bit_killable+0x1e/0x90 [nfs]'), 'nfs_wait_bit_killable [nfs]');
  assert.equal(normalizeFrame('io_schedule'), 'io_schedule');
});

test('wchan: 0 and empty mean none', () => {
  assert.equal(parseWchan('0'), null);
  assert.equal(parseWchan(''), null);
  assert.equal(parseWchan('kernel_clone'), 'kernel_clone');
});

test('cgroup v2', () => {
  assert.equal(parseCgroup(fixture('cgroup', 'v2.txt')), '/system.slice/nginx.service');
  assert.equal(parseCgroup(fixture('cgroup', 'v2-user.txt')), '/user.slice/user-1000.slice/session-3.scope');
  assert.equal(parseCgroup('0::/\n'), '/');
});

test('cgroup v1: cpu controller, then name=systemd, then anything non-root', () => {
  assert.equal(parseCgroup(fixture('cgroup', 'v1-systemd.txt')), '/system.slice/mysql.service');
  assert.equal(parseCgroup(fixture('cgroup', 'v1-docker.txt')), '/docker/4f1c2a');
  assert.equal(parseCgroup('1:name=systemd:/user.slice\n2:cpu:/\n'), '/user.slice');
  assert.equal(parseCgroup(fixture('cgroup', 'v1-hybrid-sandbox.txt')), '/process_api/9b499e5432a30895a35f80ac3e5757a2');
  assert.equal(parseCgroup(''), null);
});

test('countCpus counts cpuN lines only', () => {
  assert.equal(countCpus(fixture('proc-tree', 'stat')), 4);
  assert.equal(countCpus('cpu  1 2\nintr 3\n'), 0);
});
