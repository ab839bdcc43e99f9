import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURES } from '../helpers/fixtures.ts';

test('a stack read that blocks forever (a FIFO here) cannot hang the capture', async () => {
  const root = mkdtempSync(join(tmpdir(), 'loadmon-hang-'));
  try {
    cpSync(join(FIXTURES, 'proc-tree'), root, { recursive: true });
    // Reading a FIFO with no writer blocks in open(), like a stack read behind a held exec lock.
    unlinkSync(join(root, '900/task/901/stack'));
    execFileSync('mkfifo', [join(root, '900/task/901/stack')]);
    const started = Date.now();
    const r = await runCli(['snapshot', '--json', '--source', 'procfs', '--proc-root', root], {
      env: { ...process.env, LOADMON_DETAIL_TIMEOUT_MS: '700' },
      timeoutMs: 20_000,
    });
    const took = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(took < 10_000, `took ${took} ms`);
    const s = JSON.parse(r.stdout) as Snapshot;
    // Every R/D task is still listed; the ones read before the hang keep their details.
    assert.deepEqual(s.tasks.map((t) => t.tid).sort((a, b) => a - b), [100, 200, 301, 901, 950]);
    assert.equal(s.tasks.find((t) => t.tid === 100)!.stack[0], 'kernel_clone+0x1d3/0x400');
    assert.deepEqual(s.tasks.find((t) => t.tid === 901)!.stack, []);
    const note = s.notes.find((n) => n.includes('blocked for too long'));
    assert.ok(note, s.notes.join(' | '));
    assert.match(note, /900\/task\/901/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
