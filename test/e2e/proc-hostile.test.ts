/**
 * `loadmon snapshot --proc-root` on a crafted tree whose stat files are a
 * FIFO (open() used to block forever, deaf to SIGTERM) and a symlink to
 * /dev/zero (the reader used to grow until memory ran out). The process runs
 * under a deadline and an address-space limit: it must finish, exit 0, list
 * the other tasks and say in a note what it left out.
 *
 * A FIFO no longer blocks anything, so the hang guards (the watchdog thread
 * of `snapshot`, the detail child of `watch`) are checked here with a read
 * that really never returns: a regular file on a FUSE file system that does
 * not answer reads (test/helpers/hangfs.c), where the reader sits in D like
 * one behind a held exec lock.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import { CLI } from '../helpers/cli.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { hangfsUnavailable, hangOn } from '../helpers/hangfs.ts';

function craftedTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'loadmon-hostile-e2e-'));
  cpSync(join(FIXTURES, 'proc-tree'), root, { recursive: true });
  rmSync(join(root, '200/task/200/stat'));
  execFileSync('mkfifo', [join(root, '200/task/200/stat')]);
  rmSync(join(root, '950/task/950/stat'));
  symlinkSync('/dev/zero', join(root, '950/task/950/stat'));
  return root;
}

/** The CLI with at most 2 GB of address space and 30 s (killed after: the assertion says which). */
function snapshot(root: string, ...extra: string[]): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(
      'bash',
      ['-c', 'ulimit -v 2000000; exec "$@"', 'bash', process.execPath, CLI, 'snapshot', '--proc-root', root, ...extra],
      {
        encoding: 'utf8',
        timeout: 30_000,
        killSignal: 'SIGKILL',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return { status: 0, signal: null, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number | null; signal: string | null; stdout: string; stderr: string };
    return { status: e.status, signal: e.signal, stdout: e.stdout, stderr: e.stderr };
  }
}

test('snapshot on a tree with a FIFO stat and a /dev/zero stat finishes, exits 0 and says what it skipped', () => {
  const root = craftedTree();
  try {
    const json = snapshot(root, '--json');
    assert.equal(json.signal, null, `killed: it hung or ran away (${json.stderr})`);
    assert.equal(json.status, 0, json.stderr);
    const s = JSON.parse(json.stdout) as Snapshot;
    assert.deepEqual(
      s.tasks.map((t) => t.tid).sort((a, b) => a - b),
      [100, 301, 901],
    );
    const note = s.notes.find((n) => n.includes('not what the kernel writes'));
    assert.ok(note, s.notes.join(' | '));
    assert.match(note, /^2 thread\(s\) skipped/);

    const text = snapshot(root);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /notes:[\s\S]*2 thread\(s\) skipped: their proc files are not what the kernel writes/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

function fixtureCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'loadmon-hang-e2e-'));
  cpSync(join(FIXTURES, 'proc-tree'), root, { recursive: true });
  return root;
}

/** Every R/D task is still listed; the ones read before the hang keep their details; a note names the task. */
function checkPartial(s: Snapshot): void {
  assert.deepEqual(
    s.tasks.map((t) => t.tid).sort((a, b) => a - b),
    [100, 200, 301, 901, 950],
  );
  assert.equal(s.tasks.find((t) => t.tid === 100)!.stack[0], 'kernel_clone+0x1d3/0x400');
  assert.deepEqual(s.tasks.find((t) => t.tid === 901)!.stack, []);
  const note = s.notes.find((n) => n.includes('blocked for too long'));
  assert.ok(note, s.notes.join(' | '));
  assert.match(note, /900\/task\/901/);
}

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI; `release` is called once stderr matches `when` (or after
 * 30 s) to end the hang. Resolves on the process's exit: an abandoned child
 * stuck in D may still hold the stderr pipe.
 */
function runUntil(args: string[], when: RegExp | null, release: () => Promise<void>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOADMON_DETAIL_TIMEOUT_MS: '700' },
    });
    let stdout = '';
    let stderr = '';
    let released = false;
    const free = (): void => {
      if (!released) void release();
      released = true;
    };
    const guard = setTimeout(free, 30_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (when?.test(stderr)) free();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      child.stdout.once('close', () => resolve({ code, signal, stdout, stderr }));
      if (child.stdout.closed) resolve({ code, signal, stdout, stderr });
    });
  });
}

const noHangfs = hangfsUnavailable();

test('snapshot: a stack read that never returns (FUSE) is cut by the watchdog; the capture is printed', {
  skip: noHangfs ?? false,
}, async () => {
  const root = fixtureCopy();
  const hang = await hangOn(join(root, '900/task/901/stack'));
  try {
    const r = await runUntil(['snapshot', '--json', '--source', 'procfs', '--proc-root', root], /blocked for more than/, () => hang.stop());
    // The watchdog printed the capture and ended the process (no other way out of a blocked read).
    assert.equal(r.signal, 'SIGKILL', `code ${r.code} ${r.stderr}`);
    assert.match(r.stderr, /900\/task\/901\/stack blocked for more than 700 ms/);
    checkPartial(JSON.parse(r.stdout) as Snapshot);
  } finally {
    await hang.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('watch: a stack read that never returns (FUSE) is abandoned with its child; watch goes on and exits 0', {
  skip: noHangfs ?? false,
}, async () => {
  const root = fixtureCopy();
  const hang = await hangOn(join(root, '900/task/901/stack'));
  try {
    const args = ['watch', '--threshold', '0', '--cooldown', '0s', '--count', '2', '--json', '--source', 'procfs', '--proc-root', root];
    const r = await runUntil(args, null, () => hang.stop());
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const l of lines) checkPartial(JSON.parse(l) as Snapshot);
  } finally {
    await hang.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
