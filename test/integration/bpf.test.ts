import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

import { helperPath } from '../../src/bpf/availability.ts';
import { BpfHelper } from '../../src/bpf/helper.ts';
import { BpfCollector } from '../../src/collect/bpf.ts';
import type { Snapshot, TaskSample } from '../../src/model/snapshot.ts';
import { normalizeFrame } from '../../src/procfs/stack.ts';
import type { Workload } from '../../src/workload/workload.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { HOSTILE_COMM, startMixedLoad, stateOf, type TaskRef, waitForState } from '../helpers/workload.ts';

const HOSTILE = HOSTILE_COMM;

let work: Workload;
let dTasks: TaskRef[];
let rTasks: TaskRef[];
let hostileD: TaskRef;
let hostileS: number;
let multi: TaskRef;
const INSTALL = 'apt-get install clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev';
const tmp = mkdtempSync(join(tmpdir(), 'loadmon-bpf-test-'));
const extra: ChildProcess[] = [];

before(async () => {
  ({ work, dTasks, rTasks, hostileD, hostileS, multi } = await startMixedLoad(120));
});

after(async () => {
  await work.stop();
  for (const c of extra) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

function ours(s: Snapshot): TaskSample[] {
  const pids = new Set(work.pids);
  return s.tasks.filter((t) => pids.has(t.pid));
}

async function snapshotJson(source: string, ...more: string[]): Promise<Snapshot> {
  return snapshotJsonEnv({}, source, ...more);
}

async function snapshotJsonEnv(env: Record<string, string>, source: string, ...more: string[]): Promise<Snapshot> {
  const r = await runCli(['snapshot', '--json', '--source', source, ...more], { env: { ...process.env, ...env } });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Snapshot;
}

/** Starts a process that prints "ready PID" in its own process group; killed in after(). */
function startReady(cmd: string, args: string[]): Promise<{ pid: number; readyAt: number }> {
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  extra.push(child);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const readyAt = Date.now();
      const [word, pid] = line.split(' ');
      if (word !== 'ready') reject(new Error(line));
      else resolve({ pid: Number(pid), readyAt });
    });
  });
}

test('idle tasks are never load: no pass of either kind reports pid 0 (swapper)', async () => {
  for (const env of [{}, { LOADMON_BPF_ITER_TASK: '1' }]) {
    const saved = process.env.LOADMON_BPF_ITER_TASK;
    Object.assign(process.env, env);
    const h = await BpfHelper.start(helperPath());
    if (saved === undefined) delete process.env.LOADMON_BPF_ITER_TASK;
    else process.env.LOADMON_BPF_ITER_TASK = saved;
    try {
      for (let i = 0; i < 20; i++) {
        const snap = await h.snapshot(5, process.pid);
        assert.ok(snap.tasks.length > 0, 'the workload has R and D tasks');
        assert.deepEqual(
          snap.tasks.filter((t) => t.tid === 0 || t.pid === 0 || /^swapper\//.test(t.comm)),
          [],
          h.pass,
        );
      }
    } finally {
      h.close();
    }
  }
});

test('the helper walks the task list itself on this kernel (6.7+), iter/task when told to', async () => {
  const h = await BpfHelper.start(helperPath());
  h.close();
  assert.equal(h.pass, 'task-list');
  process.env.LOADMON_BPF_ITER_TASK = '1';
  try {
    const t = await BpfHelper.start(helperPath());
    t.close();
    assert.equal(t.pass, 'iter-task');
  } finally {
    delete process.env.LOADMON_BPF_ITER_TASK;
  }
});

// Two passes: the open-coded task walk (6.7+, the default here) and iter/task (older kernels).
for (const [pass, env] of [
  ['open-coded task walk', {}],
  ['iter/task', { LOADMON_BPF_ITER_TASK: '1' }],
] as const) {
  test(`bpf (${pass}) and procfs see the same D tasks with the same stacks, the same R tasks, wchan and cgroup`, async () => {
    const b = await snapshotJsonEnv(env, 'bpf', '--profile', '0');
    const p = await snapshotJson('procfs');
    assert.equal(b.source, 'bpf');
    assert.equal(b.schema, 'loadmon.snapshot/v1');
    const key = (t: TaskSample): string => `${t.pid}/${t.tid}/${t.state}`;
    const dOf = (s: Snapshot) =>
      new Map(
        ours(s)
          .filter((t) => t.state === 'D')
          .map((t) => [t.tid, t]),
      );
    const bd = dOf(b);
    const pd = dOf(p);
    assert.deepEqual([...bd.keys()].sort(), [...pd.keys()].sort());
    assert.deepEqual([...bd.keys()].sort(), [...dTasks.map((t) => t.tid), hostileD.tid, multi.tid].sort());
    for (const [tid, t] of bd) {
      const q = pd.get(tid)!;
      assert.deepEqual(t.stack.map(normalizeFrame), q.stack.map(normalizeFrame), `tid ${tid}`);
      for (const f of t.stack) assert.match(f, /^[\w.]+\+0x[0-9a-f]+\/0x[0-9a-f]+( \[\w+\])?$/);
      assert.equal(t.comm, q.comm);
      assert.equal(t.wchan, q.wchan);
      assert.equal(t.cgroup, q.cgroup);
      assert.equal(key(t), key(q));
    }
    assert.equal(bd.get(hostileD.tid)!.comm, HOSTILE);
    assert.ok(!b.tasks.some((t) => t.pid === hostileS), 'a sleeping task named "x) R (y" must not be captured');
    assert.deepEqual(
      b.tasks.filter((t) => t.pid === multi.pid).map((t) => t.tid),
      [multi.tid],
    );
    // R: our busy loops in both, unless one legitimately left R between the two captures.
    for (const r of rTasks) {
      const inB = b.tasks.some((t) => t.tid === r.tid && t.state === 'R');
      const inP = p.tasks.some((t) => t.tid === r.tid && t.state === 'R');
      assert.ok((inB && inP) || stateOf(r.pid, r.tid) !== 'R', `busy loop ${r.tid}: bpf ${inB}, procfs ${inP}`);
    }
    assert.ok(!b.tasks.some((t) => t.pid === process.pid), 'the test runner is not the CLI, but no task may be the CLI itself');
    assert.ok(b.capture.threads_scanned >= work.pids.length);
    for (const t of b.tasks) for (const f of [...t.stack, ...(t.user_stack ?? [])]) assert.doesNotMatch(f, /ffffffff|0x[0-9a-f]{9,}/);
  });
}

test('blocked_ms of a vfork parent blocked for 3 s reads 3000 +- 300', async () => {
  const loadgen = (work as unknown as { loadgen: string }).loadgen;
  const collector = new BpfCollector({ profileMs: 0 });
  try {
    await collector.start();
    const v = await startReady(loadgen, ['vfork', '60']);
    await waitForState([{ pid: v.pid, tid: v.pid }], 'D');
    await new Promise((r) => setTimeout(r, v.readyAt + 3000 - Date.now()));
    const s = await collector.capture({ depth: 20 });
    const t = s.tasks.find((x) => x.tid === v.pid)!;
    assert.equal(t.state, 'D');
    assert.ok(Math.abs(t.blocked_ms! - 3000) <= 300, `blocked_ms ${t.blocked_ms}`);
    // R tasks never carry it.
    assert.ok(s.tasks.filter((x) => x.state === 'R').every((x) => x.blocked_ms === undefined));
  } finally {
    collector.close();
  }
});

test('snapshot --source bpf (default 2 s profile): a frame-pointer busy loop gets a user stack naming its functions', async () => {
  const bin = join(tmp, 'loadmon-fpspin');
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-o', bin, join(FIXTURES, 'bpf', 'fpspin.c')]);
  const spin = await startReady(bin, ['60']);
  await waitForState([{ pid: spin.pid, tid: spin.pid }], 'R');
  const s = await snapshotJson('bpf');
  assert.equal(s.capture.profile_ms, 2000);
  const t = s.tasks.find((x) => x.tid === spin.pid);
  assert.ok(t, 'the busy loop is captured');
  assert.equal(t.state, 'R');
  assert.ok(t.samples! > 10, `samples ${t.samples}`);
  const fns = (t.user_stack ?? []).map((f) => normalizeFrame(f));
  assert.deepEqual(fns.slice(0, 4), [
    'loadmon_fp_inner (loadmon-fpspin)',
    'loadmon_fp_middle (loadmon-fpspin)',
    'loadmon_fp_outer (loadmon-fpspin)',
    'main (loadmon-fpspin)',
  ]);
  // D tasks never get a user stack (their maps are never read).
  assert.ok(s.tasks.filter((x) => x.state === 'D').every((x) => x.user_stack === undefined && x.samples === undefined));
});

test('watch --source bpf captures with source bpf, and says what the D load was made of since it started', async () => {
  const r = await runCli(['watch', '--source', 'bpf', '--threshold', '0', '--cooldown', '3s', '--count', '2', '--json', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const [first, second] = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Snapshot);
  for (const s of [first!, second!]) {
    assert.equal(s.source, 'bpf');
    assert.equal(ours(s).filter((t) => t.state === 'D').length, 5);
  }
  // The second capture comes ~3 s later: the per-second tracking has measured the blocked time since.
  const b = second!.blocked_recent!;
  assert.ok(b, 'blocked_recent');
  assert.ok(b.window_ms >= 1500 && b.window_ms <= 4000, `window ${b.window_ms} ms`);
  assert.ok(b.mean_d >= 4.5, `mean D ${b.mean_d}`);
  for (const d of dTasks) {
    const x = b.stacks.find((k) => k.pid === d.pid);
    assert.ok(x, `pid ${d.pid} in ${JSON.stringify(b.stacks.map((k) => k.pid))}`);
    assert.ok(Math.abs(x.blocked_ms - b.window_ms) <= 0.05 * b.window_ms, `pid ${d.pid}: ${x.blocked_ms} of ${b.window_ms} ms`);
    assert.equal(x.stack[0]!.replace(/\+.*/, ''), 'kernel_clone');
  }
});

test('without privileges (uid 65534): --source bpf exits 2 saying so; auto wanting user stacks falls back to procfs, noted', async () => {
  const opts = { uid: 65534, gid: 65534, cwd: '/' };
  const r = await runCli(['snapshot', '--source', 'bpf'], opts);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^loadmon: source 'bpf' is not available: loading BPF programs needs root, or CAP_BPF with CAP_PERFMON/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(r.stdout, '');
  // A one-shot snapshot only wants bpf for user stacks (--profile); watch always does.
  const a = await runCli(['snapshot', '--json', '--profile', '200ms'], opts);
  assert.equal(a.code, 0, a.stderr);
  const s = JSON.parse(a.stdout) as Snapshot;
  assert.equal(s.source, 'procfs');
  assert.ok(
    s.notes.some((n) => /eBPF collector was not used \(loading BPF programs needs root/.test(n)),
    s.notes.join(' | '),
  );
  assert.equal(a.stderr, '');
});

test('without the helper built: --source bpf exits 2 naming the packages; auto falls back with a note', async () => {
  const env = { ...process.env, LOADMON_BPF_HELPER: join(tmp, 'no-such-helper') };
  for (const cmd of [['snapshot'], ['watch', '--threshold', '0', '--count', '1']]) {
    const r = await runCli([...cmd, '--source', 'bpf'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(INSTALL), r.stderr);
    assert.match(r.stderr, /no-such-helper is not built/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  const a = await runCli(['watch', '--threshold', '0', '--count', '1', '--json'], { env });
  assert.equal(a.code, 0, a.stderr);
  const s = JSON.parse(a.stdout.trim().split('\n')[0]!) as Snapshot;
  assert.equal(s.source, 'procfs');
  assert.ok(
    s.notes.some((n) => n.includes('eBPF collector was not used') && n.includes(INSTALL)),
    s.notes.join(' | '),
  );
});

test('--source auto: a one-shot snapshot takes procfs (faster), with user stacks asked for it takes bpf here', async () => {
  const s = await snapshotJson('auto');
  assert.equal(s.source, 'procfs');
  assert.ok(!s.notes.some((n) => n.includes('eBPF collector was not used')), s.notes.join(' | '));
  const p = await snapshotJson('auto', '--profile', '200ms');
  assert.equal(p.source, 'bpf');
  assert.equal(p.capture.profile_ms, 200);
});

type BpfObject = { id: number; name?: string; prog_id?: number };

function bpftool(kind: 'prog' | 'link'): BpfObject[] {
  return JSON.parse(execFileSync('bpftool', ['-j', kind, 'show'], { encoding: 'utf8' }) || '[]') as BpfObject[];
}

const OUR_PROGS = new Set(['dump_tasks', 'dump_all', 'on_cpu_sample', 'on_switch', 'on_wakeup', 'on_lock_begin', 'on_lock_end']);

test('a helper killed (SIGKILL) or stopped (SIGTERM) while sampling and tracking D leaves no program or link attached', async () => {
  for (const sig of ['SIGKILL', 'SIGTERM'] as const) {
    const old = new Set(bpftool('prog').map((p) => p.id));
    const h = await BpfHelper.start(helperPath());
    try {
      const ncpus = await h.profileStart(49);
      assert.ok(ncpus >= 1);
      const tracking = await h.offcpuStart(process.pid);
      assert.ok(tracking.startNs > 0);
      assert.equal(tracking.locks, h.locks);
      // bpftool here cannot tell which process holds what: ours are the new programs with our names.
      const progs = bpftool('prog')
        .filter((p) => !old.has(p.id) && OUR_PROGS.has(p.name ?? ''))
        .map((p) => p.id);
      // dump_all is loaded where the kernel has the open-coded task iterator (6.7+).
      assert.ok(progs.length >= 4, `our programs: ${progs}`);
      const links = bpftool('link')
        .filter((l) => progs.includes(l.prog_id ?? -1))
        .map((l) => l.id);
      // The iterator(s), one perf event per CPU, sched_switch and sched_wakeup, and the two lock tracepoints.
      const lockProgs = h.locks ? 2 : 0;
      assert.ok(links.length >= progs.length - 3 - lockProgs + ncpus + 2 + lockProgs, `our links: ${links}`);
      process.kill(h.pid, sig);
      const alive = (): number[] => {
        const p = new Set(bpftool('prog').map((x) => x.id));
        const l = new Set(bpftool('link').map((x) => x.id));
        return [...progs.filter((id) => p.has(id)), ...links.filter((id) => l.has(id))];
      };
      const end = Date.now() + 5000;
      while (alive().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(alive(), [], sig);
    } finally {
      h.close();
      try {
        process.kill(h.pid, 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    }
  }
});
