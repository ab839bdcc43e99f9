import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import { CLI, runCli } from '../helpers/cli.ts';

function alive(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.charAt(s.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

/** Direct children of `ppid`, with their own children (the vfork sleepers). */
function descendants(ppid: number): number[] {
  const out: number[] = [];
  const parents = new Set([ppid]);
  for (let round = 0; round < 2; round++) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const s = readFileSync(`/proc/${name}/stat`, 'utf8');
        const pp = Number(s.slice(s.lastIndexOf(')') + 4).split(' ')[0]);
        if (parents.has(pp) && !out.includes(Number(name))) {
          out.push(Number(name));
          parents.add(Number(name));
        }
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

test('demo: the load climbs, the capture shows R busy loops and D vfork tasks, everything is reaped', async () => {
  const r = await runCli(['demo', '--json', '--duration', '45s'], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Snapshot;
  assert.ok(s.trigger, 'captured because the threshold was reached');
  assert.ok(s.trigger.load1 >= s.trigger.threshold);
  const pids = new Set(/demo: started pids ([\d ]+)/.exec(r.stderr)![1]!.trim().split(' ').map(Number));
  assert.equal(pids.size, 8);
  const demoTasks = s.tasks.filter((t) => pids.has(t.pid));
  assert.ok(demoTasks.every((t) => t.comm === 'loadmon-loadgen'));
  assert.equal(demoTasks.filter((t) => t.state === 'D').length, 6);
  assert.ok(demoTasks.filter((t) => t.state === 'R').length >= 1);
  for (const t of demoTasks.filter((x) => x.state === 'D')) assert.equal(t.stack[0]?.replace(/\+.*/, ''), 'kernel_clone');
  assert.match(r.stderr, /waiting for load1 to climb|capturing when it reaches/);
  assert.match(r.stderr, /stopped and reaped 8 process/);
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still alive`);
});

test('demo: Ctrl-C stops and reaps every process it started', async () => {
  const child = spawn(process.execPath, [CLI, 'demo', '--threshold', '999'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const deadline = Date.now() + 20_000;
  while (!/capturing when it reaches/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const started = descendants(child.pid!);
  assert.ok(started.length >= 8, `children: ${started.join(' ')}`);
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.match(stderr, /interrupted/);
  await new Promise((r) => setTimeout(r, 200));
  for (const pid of started) assert.equal(alive(pid), false, `pid ${pid} survived`);
});
