import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { ProcfsCollector } from '../../src/collect/procfs.ts';
import { registerOwnProcess } from '../../src/collect/self.ts';
import { SNAPSHOT_SCHEMA } from '../../src/model/snapshot.ts';
import { FIXTURES } from '../helpers/fixtures.ts';

const root = join(FIXTURES, 'proc-tree');

test('fixture tree: exactly the R and D threads, by tid, with their process pid', async () => {
  const s = await new ProcfsCollector({ procRoot: root, details: 'inline' }).capture({ depth: 20 });
  assert.equal(s.schema, SNAPSHOT_SCHEMA);
  assert.equal(s.source, 'procfs');
  assert.equal(s.cpus, 4);
  assert.deepEqual(s.loadavg, { load1: 5.25, load5: 2.1, load15: 0.8, runnable: 5, threads: 412 });
  const got = s.tasks.map((t) => `${t.pid}/${t.tid} ${t.state} ${JSON.stringify(t.comm)}`).sort();
  assert.deepEqual(got, [
    '100/100 D "loadgen"',
    '200/200 R "while loop"',
    '301/301 R "a\\nD) "',
    '900/901 D "multi worker"',
    '950/950 D "nfs client"',
  ]);
});

test('fixture tree: hostile sleeping comm, idle kthread, Z T t X P are not captured', async () => {
  const s = await new ProcfsCollector({ procRoot: root, details: 'inline' }).capture({ depth: 20 });
  const tids = new Set(s.tasks.map((t) => t.tid));
  for (const tid of [300, 4, 700, 701, 702, 703, 704, 101, 900, 902, 1]) assert.ok(!tids.has(tid), `tid ${tid}`);
});

test('fixture tree: stacks, wchan, cgroup; vanished threads skipped; scanned count', async () => {
  const s = await new ProcfsCollector({ procRoot: root, details: 'inline' }).capture({ depth: 20 });
  const byTid = new Map(s.tasks.map((t) => [t.tid, t]));
  const d = byTid.get(100)!;
  assert.deepEqual(d.stack.slice(0, 2), ['kernel_clone+0x1d3/0x400', '__do_sys_vfork+0x66/0x90']);
  assert.equal(d.wchan, 'kernel_clone');
  assert.equal(d.cgroup, '/system.slice/load.service');
  const r = byTid.get(200)!;
  assert.deepEqual(r.stack, []);
  assert.equal(r.wchan, null);
  assert.equal(byTid.get(950)!.stack[0], 'nfs_wait_bit_killable+0x1e/0x90 [nfs]');
  // 1, 4, 100, 101, 200, 300, 301, 700-704, 900-902, 950 = 16 stat files; 500 vanished.
  assert.equal(s.capture.threads_scanned, 16);
  assert.ok(s.capture.ms >= 0);
  assert.ok(
    s.notes.some((n) => n.includes('2 R task(s) have no kernel stack')),
    s.notes.join('|'),
  );
});

test("loadmon's own processes: a capture counts their R/D threads; a light scan leaves them out unread", async (t) => {
  // pid 100 (thread 100 in D, 101 asleep) stands for a process loadmon started; its sleeping thread's
  // stat is a directory here, so every read of it shows as a skipped thread.
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-own-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(root, dir, { recursive: true });
  rmSync(join(dir, '100/task/101/stat'));
  cpSync(join(dir, '100/task/101/wchan'), join(dir, '100/task/101/stat/x'));
  const forget = registerOwnProcess(100);
  t.after(forget);
  const c = new ProcfsCollector({ procRoot: dir, details: 'inline' });

  const light = c.scanStates();
  assert.ok(!light.candidates.some((x) => x.pid === 100), 'left out');
  assert.equal(light.ownThreads, 0, 'not counted');
  assert.equal(light.skipped.threads, 0, 'and not read');
  assert.equal(light.threadsScanned, 14, "16 threads, less loadmon's two");

  const s = await c.capture({ depth: 20 });
  assert.ok(!s.tasks.some((x) => x.pid === 100));
  assert.equal(s.capture.own_threads, 1, 'the D thread of its two (docs/snapshot-schema.md: R/D threads left out)');
  assert.equal(s.capture.threads_scanned, 14);
  assert.ok(
    s.notes.some((n) => n.includes('100/task/101/stat')),
    'a capture reads them: only the stat tells R/D',
  );
});

test('depth limits frames; depth 0 reads no stack', async () => {
  const c = new ProcfsCollector({ procRoot: root, details: 'inline' });
  const two = await c.capture({ depth: 2 });
  assert.ok(two.tasks.every((t) => t.stack.length <= 2));
  const none = await c.capture({ depth: 0 });
  assert.ok(none.tasks.every((t) => t.stack.length === 0));
  assert.deepEqual(none.notes, []);
});

test('a missing proc root is a clear error', async () => {
  await assert.rejects(
    new ProcfsCollector({ procRoot: join(FIXTURES, 'nope'), details: 'inline' }).capture({ depth: 20 }),
    /cannot read .*nope\/loadavg/,
  );
});

test('the watchdog worker gets only module-loader flags from execArgv (V8 flags would make Worker throw)', async () => {
  const { loaderFlags } = await import('../../src/collect/watchdog-reader.ts');
  assert.deepEqual(loaderFlags(['--max-semi-space-size=16', '--import', 'tsx', '--expose-gc', '--require=x.cjs', '-r', 'y']), [
    '--import',
    'tsx',
    '--require=x.cjs',
    '-r',
    'y',
  ]);
  assert.deepEqual(loaderFlags([]), []);
});
