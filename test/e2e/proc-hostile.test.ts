/**
 * `loadmon snapshot --proc-root` on a crafted tree whose stat files are a
 * FIFO (open() used to block forever, deaf to SIGTERM) and a symlink to
 * /dev/zero (the reader used to grow until memory ran out). The process runs
 * under a deadline and an address-space limit: it must finish, exit 0, list
 * the other tasks and say in a note what it left out.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import { CLI } from '../helpers/cli.ts';
import { FIXTURES } from '../helpers/fixtures.ts';

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
    const stdout = execFileSync('bash', ['-c', 'ulimit -v 2000000; exec "$@"', 'bash', process.execPath, CLI, 'snapshot', '--proc-root', root, ...extra], {
      encoding: 'utf8',
      timeout: 30_000,
      killSignal: 'SIGKILL',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
    assert.deepEqual(s.tasks.map((t) => t.tid).sort((a, b) => a - b), [100, 301, 901]);
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
