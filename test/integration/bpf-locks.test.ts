/**
 * Wait-for chains on a real kernel (--source bpf, root, 5.19+): six threads
 * appending with O_DIRECT|O_DSYNC to one file queue on its inode's i_rwsem
 * behind a thread that waits for its I/O while holding it. The tracking
 * must name that inode, a thread of the workload as the holder, and keep
 * the rwsem frames the kernel's own stack walker hides.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';

import { BpfCollector } from '../../src/collect/bpf.ts';
import type { TrackedSample } from '../../src/collect/bpf-tracking.ts';
import { FIXTURES } from '../helpers/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'loadmon-locks-'));
// ext4 on the root disk here; /tmp may be a tmpfs (no direct I/O, no disk wait).
const data = mkdtempSync('/var/tmp/loadmon-locks-');
let child: ChildProcess | null = null;
let collector: BpfCollector | null = null;

after(() => {
  collector?.close();
  if (child?.pid) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

function startWriters(file: string): Promise<number> {
  const bin = join(tmp, 'sharedappend');
  execFileSync('gcc', ['-O2', '-pthread', '-o', bin, join(FIXTURES, 'bpf', 'sharedappend.c')]);
  child = spawn(bin, [file, '6', '60'], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child!.once('error', reject);
    child!.once('exit', (code) => reject(new Error(`sharedappend exited with ${code}`)));
    createInterface({ input: child!.stdout! }).once('line', (line) => {
      const m = /^ready (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else reject(new Error(line));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('threads appending to one file: the chain names its inode lock and a writer thread holding it', async () => {
  const file = join(data, 'shared');
  const pid = await startWriters(file);
  const ino = statSync(file).ino;
  collector = new BpfCollector();
  const warnings: string[] = [];
  const tracking = await collector.track(20, (l) => warnings.push(l), false);
  assert.ok(tracking.active, warnings.join('\n'));
  assert.ok(tracking.tracksLocks, 'lock:contention_begin/end are on this kernel (6.18)');

  const samples: TrackedSample[] = [];
  for (let i = 0; i < 8; i++) {
    await sleep(1000);
    samples.push(await tracking.sample());
  }
  const snap = await collector.capture({ depth: 20 });

  // Per sample: waits of the workload's threads for that inode, with holders among its threads.
  const waits = samples.flatMap((s) => s.locks ?? []).filter((w) => w.waiter.pid === pid);
  assert.ok(waits.length > 0, 'the writers waited for a lock');
  const onInode = waits.filter((w) => w.inode?.ino === ino);
  assert.ok(onInode.length > 0, `waits on inode ${ino}: ${JSON.stringify(waits.slice(0, 3))}`);
  assert.ok(onInode.every((w) => w.kind === 'rwsem' && w.key === `inode:${w.inode!.dev}:${ino}`));
  assert.ok(onInode.some((w) => w.holder?.pid === pid));
  assert.doesNotMatch(JSON.stringify(waits), /ffff[0-9a-f]{12}/, 'no kernel address');

  // The capture's chain over the last minute.
  const chains = snap.blocked_recent?.chains ?? [];
  const chain = chains.find((c) => c.lock.name?.includes(String(ino)));
  assert.ok(chain, `chains: ${JSON.stringify(chains)}`);
  assert.match(chain.lock.name!, new RegExp(`^i_rwsem of inode ${ino} on \\S+$`));
  assert.equal(chain.lock.kind, 'rwsem');
  assert.equal(chain.lock.address, null);
  assert.ok(chain.waiters > 0);
  assert.ok(chain.waiter_threads >= 2, String(chain.waiter_threads));
  assert.deepEqual(chain.waiter_processes[0]?.pid, pid);
  assert.ok(chain.holder, 'a writer held it');
  assert.equal(chain.holder.pid, pid);
  assert.ok(chain.holder.tid >= pid);

  // The blocked time of the waiters keeps the rwsem frames /proc/PID/stack hides.
  const stacks = samples
    .flatMap((s) => s.offcpu?.entries ?? [])
    .filter((e) => e.pid === pid)
    .map((e) => e.stack);
  assert.ok(
    stacks.some((s) => s.some((f) => /^(rwsem_down_write_slowpath|down_write)\+0x[0-9a-f]+\/0x[0-9a-f]+ \[sched\]$/.test(f))),
    `switch-out stacks: ${JSON.stringify(stacks.slice(0, 3))}`,
  );
  assert.ok(!stacks.some((s) => s.some((f) => /^(__schedule|schedule)\+/.test(f))), 'the scheduler core is dropped');
});
