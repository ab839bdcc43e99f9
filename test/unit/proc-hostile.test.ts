/**
 * Crafted proc trees (--proc-root): files that are not what the kernel
 * writes must cost that one task a note, never the capture, and never
 * unbounded memory or a hang. Each case builds its tree in a tmp dir from
 * the fixture tree. The cases that hung or exhausted memory before the fix
 * (FIFO, /dev/zero) run in a child process under a deadline and an
 * address-space limit, so a regression fails the test instead of the machine
 * (--no-expose-wasm: tsx would otherwise reserve ~10 GB for its WebAssembly lexer).
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { ProcfsCollector } from '../../src/collect/procfs.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { FIXTURES, ROOT } from '../helpers/fixtures.ts';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A copy of the fixture tree, changed by `mutate`. */
function craft(mutate: (root: string) => void): string {
  const root = mkdtempSync(join(tmpdir(), 'loadmon-hostile-'));
  made.push(root);
  cpSync(join(FIXTURES, 'proc-tree'), root, { recursive: true });
  mutate(root);
  return root;
}

function replace(root: string, rel: string, make: (path: string) => void): void {
  const p = join(root, rel);
  rmSync(p, { recursive: true, force: true });
  make(p);
}

function capture(root: string, depth = 20): Promise<Snapshot> {
  return new ProcfsCollector({ procRoot: root, details: 'inline' }).capture({ depth });
}

/**
 * The same capture in a child process: at most 20 s and 2 GB of address
 * space (a reader that grows without limit dies there, not on the machine).
 */
function captureInChild(root: string): Snapshot {
  const src = join(ROOT, 'src', 'collect', 'procfs.ts');
  const script =
    `import { ProcfsCollector } from ${JSON.stringify(src)};` +
    `const s = await new ProcfsCollector({ procRoot: ${JSON.stringify(root)}, details: 'inline' }).capture({ depth: 20 });` +
    'process.stdout.write(JSON.stringify(s));';
  const r = spawnSync(
    'bash',
    [
      '-c',
      'ulimit -v 2000000; exec "$@"',
      'bash',
      process.execPath,
      '--no-expose-wasm',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  assert.equal(r.signal, null, `the capture was killed (${r.signal}): it hung or ran away`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Snapshot;
}

const tids = (s: Snapshot): number[] => s.tasks.map((t) => t.tid).sort((a, b) => a - b);
const unusableNotes = (s: Snapshot): string[] => s.notes.filter((n) => n.includes('not what the kernel writes'));

test('a PID whose task is a regular file: that process is skipped with a note, the capture goes on', async () => {
  const root = craft((r) => replace(r, '950/task', (p) => writeFileSync(p, 'not a directory\n')));
  const s = await capture(root);
  assert.deepEqual(tids(s), [100, 200, 301, 901]);
  const notes = unusableNotes(s);
  assert.equal(notes.length, 1, s.notes.join(' | '));
  assert.match(notes[0]!, /950\/task.*ENOTDIR/);
});

test('a stat that is a directory (EISDIR) or unparsable: those threads are skipped, ONE note counts them', async () => {
  const root = craft((r) => {
    replace(r, '950/task/950/stat', (p) => mkdirSync(p));
    writeFileSync(join(r, '200/task/200/stat'), 'x (while loop) R 1 200\n');
  });
  const s = await capture(root);
  assert.deepEqual(tids(s), [100, 301, 901]);
  const notes = unusableNotes(s);
  assert.equal(notes.length, 1, s.notes.join(' | '));
  assert.match(notes[0]!, /^2 thread\(s\) skipped/);
});

test('a stat over its size cap (a 1 MiB comm) is left out, not parsed', async () => {
  const root = craft((r) => writeFileSync(join(r, '200/task/200/stat'), `200 (${'x'.repeat(1 << 20)}) R 1 200 200 0 -1 4194560 0\n`));
  const s = await capture(root);
  assert.ok(!tids(s).includes(200));
  assert.match(unusableNotes(s).join(' '), /200\/task\/200\/stat: larger than 4096 bytes/);
});

test('a comm longer than the kernel allows is cut at 64 bytes with a visible marker', async () => {
  const long = 'é'.repeat(100); // 200 bytes of UTF-8: the cut must not split a character
  const root = craft((r) => writeFileSync(join(r, '200/task/200/stat'), `200 (${long}) R 1 200 200 0 -1 4194560 0\n`));
  const s = await capture(root);
  const comm = s.tasks.find((t) => t.tid === 200)!.comm;
  assert.equal(comm, `${'é'.repeat(32)}…`);
});

test('a 5 MB cgroup file is left out with a note; a 5,000-byte cgroup path is cut at 4096 bytes', async () => {
  const root = craft((r) => {
    writeFileSync(join(r, '100/task/100/cgroup'), `0::/${'a'.repeat(5_000_000)}\n`);
    writeFileSync(join(r, '950/task/950/cgroup'), `0::/${'b'.repeat(4_999)}\n`);
  });
  const s = await capture(root);
  const byTid = new Map(s.tasks.map((t) => [t.tid, t]));
  assert.equal(byTid.get(100)!.cgroup, null);
  assert.equal(byTid.get(100)!.stack[0], 'kernel_clone+0x1d3/0x400', 'the other files of that task are still read');
  assert.equal(byTid.get(950)!.cgroup, `/${'b'.repeat(4095)}…`);
  assert.match(unusableNotes(s).join(' '), /the stack, wchan or cgroup of 1 task\(s\).*100\/task\/100\/cgroup: larger than/);
});

test('a frame longer than any kernel symbol is cut at 256 bytes; a stack keeps at most 64 frames', async () => {
  const frames = [`${'f'.repeat(1000)}+0x1/0x2`, ...Array.from({ length: 99 }, (_, i) => `fn${i}+0x1/0x2`)];
  const root = craft((r) => writeFileSync(join(r, '100/task/100/stack'), frames.map((f) => `[<0>] ${f}\n`).join('')));
  const s = await capture(root, 1000);
  const stack = s.tasks.find((t) => t.tid === 100)!.stack;
  assert.equal(stack.length, 64);
  assert.equal(stack[0], `${'f'.repeat(256)}…`);
  assert.equal(stack[1], 'fn0+0x1/0x2');
});

test('a stat that is a symlink to /dev/zero: bounded read, the thread is skipped with a note', () => {
  const root = craft((r) => replace(r, '200/task/200/stat', (p) => symlinkSync('/dev/zero', p)));
  const s = captureInChild(root);
  assert.ok(!tids(s).includes(200));
  assert.match(unusableNotes(s).join(' '), /200\/task\/200\/stat/);
});

test('a stat that is a FIFO (no writer): open does not block, the thread is skipped with a note', () => {
  const root = craft((r) => replace(r, '200/task/200/stat', (p) => spawnSync('mkfifo', [p])));
  const s = captureInChild(root);
  assert.ok(!tids(s).includes(200));
  assert.match(unusableNotes(s).join(' '), /200\/task\/200\/stat: not a regular file/);
});

test('stack, wchan and cgroup that are a FIFO, /dev/zero and a directory: the task stays, its details are left out', () => {
  const root = craft((r) => {
    replace(r, '950/task/950/stack', (p) => spawnSync('mkfifo', [p]));
    replace(r, '950/task/950/wchan', (p) => symlinkSync('/dev/zero', p));
    replace(r, '950/task/950/cgroup', (p) => mkdirSync(p));
  });
  const s = captureInChild(root);
  const t = s.tasks.find((x) => x.tid === 950)!;
  assert.deepEqual([t.stack, t.wchan, t.cgroup], [[], null, null]);
  assert.match(unusableNotes(s).join(' '), /the stack, wchan or cgroup of 1 task\(s\)/);
});

test('a directory name that only starts with a digit is not a PID', async () => {
  const root = craft((r) => cpSync(join(r, '200'), join(r, '2\u001b[2J'), { recursive: true }));
  const s = await capture(root);
  assert.deepEqual(tids(s), [100, 200, 301, 901, 950]);
});
