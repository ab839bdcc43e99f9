/**
 * loadmon leaves its own processes out of its captures (src/collect/self.ts):
 * the process itself and the ones it starts for itself. `watch` reads
 * stacks in a child process (the detail reader), which is R while it boots
 * during the first scan and used to be captured, reading its own stack
 * (proc_pid_stack). The test finds the CLI's children while it runs and
 * checks that no capture lists a task of the CLI or of any of them.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import { CLI } from '../helpers/cli.ts';

/** Pids of the live children of `parent`, from /proc/PID/stat (field 4). */
function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Runs the CLI, collecting its children's pids every 20 ms until it exits. */
function runWatching(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; own: Set<number> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const own = new Set<number>([child.pid!]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      for (const p of childrenOf(child.pid!)) own.add(p);
    }, 20);
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(poll);
      clearTimeout(kill);
      resolve({ code, stdout, stderr, own });
    });
  });
}

test('watch (stacks read by its child process) never lists a task of loadmon or of a process it started', {
  skip: process.getuid?.() !== 0 && 'needs root (kernel stacks)',
}, async () => {
  // Several runs: the child is R only while it boots, during the first scan of each run.
  for (let run = 0; run < 3; run++) {
    const r = await runWatching([
      'watch',
      '--threshold',
      '0',
      '--cooldown',
      '0s',
      '--count',
      '2',
      '--json',
      '--source',
      'procfs',
      '--quiet',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.own.size >= 2, `the detail child was seen (${[...r.own].join(', ')})`);
    for (const line of r.stdout.trim().split('\n')) {
      const s = JSON.parse(line) as Snapshot;
      const mine = s.tasks.filter((t) => r.own.has(t.pid));
      assert.deepEqual(
        mine.map((t) => `${t.pid}/${t.tid} ${t.comm} ${t.stack[0] ?? ''}`),
        [],
        `run ${run}`,
      );
      assert.ok(!s.tasks.some((t) => t.stack.some((f) => f.startsWith('proc_pid_stack'))), 'no task reading its own stack');
      // The scanning thread is R while it reads its own stat: counted, not silent.
      assert.ok((s.capture.own_threads ?? 0) >= 1, JSON.stringify(s.capture));
    }
  }
});
