import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURES } from '../helpers/fixtures.ts';

function hangingTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'loadmon-hang-'));
  cpSync(join(FIXTURES, 'proc-tree'), root, { recursive: true });
  // Reading a FIFO with no writer blocks in open(), like a stack read behind a held exec lock.
  unlinkSync(join(root, '900/task/901/stack'));
  execFileSync('mkfifo', [join(root, '900/task/901/stack')]);
  return root;
}

function checkPartial(s: Snapshot): void {
  // Every R/D task is still listed; the ones read before the hang keep their details.
  assert.deepEqual(s.tasks.map((t) => t.tid).sort((a, b) => a - b), [100, 200, 301, 901, 950]);
  assert.equal(s.tasks.find((t) => t.tid === 100)!.stack[0], 'kernel_clone+0x1d3/0x400');
  assert.deepEqual(s.tasks.find((t) => t.tid === 901)!.stack, []);
  const note = s.notes.find((n) => n.includes('blocked for too long'));
  assert.ok(note, s.notes.join(' | '));
  assert.match(note, /900\/task\/901/);
}

const env = { ...process.env, LOADMON_DETAIL_TIMEOUT_MS: '700' };

test('snapshot: a stack read that blocks forever (a FIFO here) cannot hang it; the capture is printed', async () => {
  const root = hangingTree();
  try {
    const started = Date.now();
    const r = await runCli(['snapshot', '--json', '--source', 'procfs', '--proc-root', root], { env, timeoutMs: 20_000 });
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    // The watchdog thread printed the capture and ended the process (no other way out of a blocked read).
    assert.equal(r.signal, 'SIGKILL', `code ${r.code} ${r.stderr}`);
    assert.match(r.stderr, /900\/task\/901\/stack blocked for more than 700 ms/);
    checkPartial(JSON.parse(r.stdout) as Snapshot);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('watch: a blocked read is abandoned with its child process; watch goes on and exits 0', async () => {
  const root = hangingTree();
  try {
    const r = await runCli(
      ['watch', '--threshold', '0', '--cooldown', '0s', '--count', '2', '--json', '--source', 'procfs', '--proc-root', root],
      { env, timeoutMs: 20_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const l of lines) checkPartial(JSON.parse(l) as Snapshot);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
