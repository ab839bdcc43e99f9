/**
 * loadmon's own processes are left out of kmod-sourced captures too, by the
 * same registry as procfs and bpf (src/collect/self.ts), and counted in a
 * note; a crafted /proc/load_monitor cannot print a 1 MiB comm either.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

import { kmodToSnapshot } from '../../src/collect/kmod.ts';
import { ownPids, registerOwnProcess } from '../../src/collect/self.ts';
import { parseLoadMonitor } from '../../src/kmod/format.ts';
import { fixture } from '../helpers/fixtures.ts';

test('kmod: the tasks of loadmon and of the processes it started are left out and counted', () => {
  const [k] = parseLoadMonitor(fixture('kmod', 'two-snapshots.txt'));
  const all = kmodToSnapshot(k!, null, 20, new Set());
  const ownPid = all.tasks[0]!.pid;
  const ownThreads = all.tasks.filter((t) => t.pid === ownPid).length;
  const s = kmodToSnapshot(k!, null, 20, new Set([ownPid]));
  assert.deepEqual(
    s.tasks,
    all.tasks.filter((t) => t.pid !== ownPid),
  );
  assert.equal(s.capture.own_threads, ownThreads);
  assert.equal(all.capture.own_threads, undefined, 'absent when none was left out');
});

test('kmod: comm and frames from the module file are cut like procfs ones', () => {
  const [k] = parseLoadMonitor(fixture('kmod', 'two-snapshots.txt'));
  k!.tasks[0]!.comm = 'c'.repeat(1 << 20);
  k!.tasks[0]!.stack[0] = `${'f'.repeat(1000)}+0x1/0x2`;
  const t = kmodToSnapshot(k!, null, 20, new Set()).tasks[0]!;
  assert.equal(t.comm, `${'c'.repeat(64)}…`);
  assert.equal(t.stack[0], `${'f'.repeat(256)}…`);
});

test("a child registered as loadmon's own is left out until it has exited", async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  child.once('exit', registerOwnProcess(child.pid));
  assert.ok(ownPids().has(child.pid!));
  assert.ok(ownPids().has(process.pid));
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  assert.ok(!ownPids().has(child.pid!));
});
