/**
 * load_monitor.ko on real Debian kernels (5.10, 6.1, 6.12) in QEMU.
 *
 * Runs test/kmod/run.sh once (download, build, boot; ~10 minutes cold),
 * then checks its artifacts in $LOADMON_KMOD_OUT/<kernel-release>/.
 *
 * env: LOADMON_KMOD_KERNELS="5.10 6.1 6.12"   which kernels
 *      LOADMON_KMOD_REUSE=1   check the artifacts already in LOADMON_KMOD_OUT
 *                             instead of running run.sh again
 * Needs root (apt-get, mknod) and qemu-system-x86; skipped when not root.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { type KmodSnapshot, type KmodTask, parseLoadMonitor } from '../../src/kmod/format.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { runCli } from '../helpers/cli.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = process.env.LOADMON_KMOD_OUT ?? join(HERE, 'out');
const TARGETS = (process.env.LOADMON_KMOD_KERNELS ?? '5.10 6.1 6.12').split(/\s+/).filter(Boolean);
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const SKIP = IS_ROOT ? false : 'needs root (apt-get, mknod, QEMU)';

const COOLDOWN_NS = 3_000_000_000n; // init.sh: cooldown_s=3 for the main run
const MAX_TASKS = 5; // init.sh: max_tasks=5 for the dropped run
const DEPTH = 20;
const HOSTILE_COMMS = ['x) R (y z', 'b\\s p\t\u00e9'];
/* innermost frames of kernel threads waiting for work (TASK_IDLE) */
const IDLE_LOOP =
  /^(worker_thread|rescuer_thread|kthread_worker_fn|rcu_gp_kthread|rcu_tasks_kthread|smpboot_thread_fn|kthreadd|irq_thread)\+/;
const FRAME = /^([A-Za-z_.$][\w.$]*\+0x[0-9a-f]+\/0x[0-9a-f]+( \[[\w-]+\])?|\?)$/;

interface Fixture {
  kind: string;
  tid: number;
  pid: number;
}

function releaseFor(target: string): string | undefined {
  const list = join(OUT, 'kernels.txt');
  if (!existsSync(list)) return undefined;
  return readFileSync(list, 'utf8')
    .split('\n')
    .find((rel) => rel.startsWith(`${target}.`) || rel.startsWith(`${target}-`));
}

function artifact(rel: string, name: string): string {
  const p = join(OUT, rel, name);
  assert.ok(existsSync(p), `missing artifact ${p}`);
  return readFileSync(p, 'utf8');
}

function fixtures(rel: string): Fixture[] {
  return artifact(rel, 'fixtures.txt')
    .split('\n')
    .map((l) => /^fixture kind=(\S+) tid=(\d+) pid=(\d+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ kind: m[1]!, tid: Number(m[2]), pid: Number(m[3]) }));
}

function snapshots(rel: string, name: string): KmodSnapshot[] {
  return parseLoadMonitor(artifact(rel, name));
}

function last<T>(a: T[]): T {
  const v = a[a.length - 1];
  assert.ok(v !== undefined, 'empty list');
  return v;
}

function taskByTid(s: KmodSnapshot, tid: number): KmodTask | undefined {
  return s.tasks.find((t) => t.tid === tid);
}

function hasFrame(t: KmodTask, re: RegExp): boolean {
  return t.stack.some((f) => re.test(f));
}

describe('load_monitor.ko in QEMU', { skip: SKIP }, () => {
  before(
    () => {
      if (process.env.LOADMON_KMOD_REUSE && existsSync(join(OUT, 'kernels.txt'))) return;
      mkdirSync(OUT, { recursive: true });
      const r = spawnSync('bash', [join(HERE, 'run.sh'), ...TARGETS], {
        env: { ...process.env, LOADMON_KMOD_OUT: OUT },
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      writeFileSync(join(OUT, 'run.log'), `${r.stdout ?? ''}${r.stderr ?? ''}`);
      // 0: all passed, 2: in-guest check failed (the tests below say which)
      if (r.status !== 0 && r.status !== 2) {
        process.stderr.write((r.stderr ?? '').split('\n').slice(-30).join('\n'));
      }
    },
    { timeout: 90 * 60 * 1000 },
  );

  for (const target of TARGETS) {
    describe(`kernel ${target}`, () => {
      let rel = '';
      before(() => {
        const r = releaseFor(target);
        assert.ok(r, `run.sh produced no kernel release for ${target} (see ${join(OUT, 'run.log')})`);
        rel = r;
      });

      test('module builds without warnings', () => {
        const log = artifact(rel, 'build.log');
        assert.match(artifact(rel, 'results.txt'), /^PASS build$/m);
        const bad = log.split('\n').filter((l) => /warning:|error:/i.test(l));
        assert.deepEqual(bad, []);
        assert.match(log, new RegExp(`^${rel.replace(/[.+]/g, '\\$&')} SMP`, 'm'), 'vermagic names the kernel');
      });

      test('checkpatch reports no errors and no warnings (the module and the native waiter)', () => {
        const totals = [...artifact(rel, 'checkpatch.txt').matchAll(/total: (\d+) errors, (\d+) warnings/g)];
        assert.equal(totals.length, 2, 'checkpatch ran on both files');
        for (const m of totals) assert.deepEqual([Number(m[1]), Number(m[2])], [0, 0], m[0]);
      });

      test('guest finished and every in-guest check passed', () => {
        const results = artifact(rel, 'results.txt');
        assert.match(results, /^PASS boot$/m);
        const failed = results.split('\n').filter((l) => l.startsWith('FAIL'));
        assert.deepEqual(failed, []);
        const passed = results.split('\n').filter((l) => l.startsWith('PASS'));
        assert.ok(passed.length >= 40, `only ${passed.length} PASS lines`);
      });

      test('kernel log is clean', () => {
        const dmesg = artifact(rel, 'dmesg.txt');
        const bad = new RegExp(
          [
            'BUG:',
            'WARNING:',
            'Oops',
            'rcu.*stall',
            'self-detected stall',
            'soft lockup',
            'hard LOCKUP',
            'scheduling while atomic',
            'blocked for more than',
            'general protection',
            'Call Trace',
          ].join('|'),
        );
        assert.deepEqual(
          dmesg.split('\n').filter((l) => bad.test(l)),
          [],
        );
        assert.match(dmesg, /load_monitor: stack_trace_save_tsk (is exported|found through kprobes)/);
      });

      test('header-only file before the first capture', () => {
        assert.equal(artifact(rel, 'load_monitor-empty.txt'), 'load_monitor 1\n');
        assert.deepEqual(snapshots(rel, 'load_monitor-empty.txt'), []);
      });

      test('snapshots are consistent, seq increases, cooldown holds', () => {
        const snaps = snapshots(rel, 'load_monitor-main.txt');
        assert.ok(snaps.length >= 3, `${snaps.length} snapshots`);
        for (const s of snaps) {
          assert.equal(s.depth, DEPTH);
          assert.ok(s.load1 >= 1, `load1 ${s.load1} >= threshold 1`);
          assert.ok(s.cpus === 2);
          assert.ok(s.threads >= 2000, `threads ${s.threads}`);
          assert.equal(s.dropped, 0);
          assert.equal(s.tasks.length, s.running + s.uninterruptible);
          assert.equal(s.tasks.filter((t) => t.state === 'R').length, s.running);
          assert.ok(s.walkNs > 0);
          for (const t of s.tasks) {
            assert.ok(t.stack.length <= DEPTH);
            for (const f of t.stack) assert.match(f, FRAME);
          }
        }
        for (let i = 1; i < snaps.length; i++) {
          const a = snaps[i - 1]!;
          const b = snaps[i]!;
          assert.ok(b.seq > a.seq, `seq ${a.seq} then ${b.seq}`);
          const gap = b.timeNs - a.timeNs;
          assert.ok(gap >= COOLDOWN_NS - 1_000_000n, `capture gap ${gap} ns < cooldown 3 s`);
        }
      });

      test('R and D tasks: busy loops R, vfork parents D in kernel_clone <- vfork', () => {
        const fx = fixtures(rel);
        const s = last(snapshots(rel, 'load_monitor-main.txt'));
        assert.ok(s.tasks.some((t) => t.state === 'R'));
        assert.ok(s.tasks.some((t) => t.state === 'D'));
        const busy = fx.filter((f) => f.kind === 'busy');
        assert.equal(busy.length, 2);
        for (const f of busy) assert.equal(taskByTid(s, f.tid)?.state, 'R', `busy loop ${f.tid}`);
        const vforks = fx.filter((f) => f.kind === 'vfork');
        assert.equal(vforks.length, 42);
        for (const f of vforks) {
          const t = taskByTid(s, f.tid);
          assert.ok(t, `vfork parent ${f.tid} listed`);
          assert.equal(t.state, 'D');
          assert.equal(t.pid, f.pid);
          assert.ok(hasFrame(t, /^kernel_clone\+/), `kernel_clone in ${t.stack.join(' < ')}`);
          assert.ok(hasFrame(t, /^(__do_sys_vfork|__x64_sys_vfork)\+/), `vfork syscall in ${t.stack.join(' < ')}`);
        }
      });

      test('hostile comms round-trip exactly', () => {
        const vforkTids = new Set(
          fixtures(rel)
            .filter((f) => f.kind === 'vfork')
            .map((f) => f.tid),
        );
        const s = last(snapshots(rel, 'load_monitor-main.txt'));
        for (const comm of HOSTILE_COMMS) {
          const t = s.tasks.find((x) => x.comm === comm);
          assert.ok(t, `task with comm ${JSON.stringify(comm)}`);
          assert.equal(t.state, 'D');
          assert.ok(vforkTids.has(t.tid));
        }
      });

      test('the thread that vforks is D with its own tid and its process pid', () => {
        const f = fixtures(rel).find((x) => x.kind === 'thread-vfork');
        assert.ok(f);
        assert.notEqual(f.tid, f.pid);
        const t = taskByTid(last(snapshots(rel, 'load_monitor-main.txt')), f.tid);
        assert.ok(t, 'thread listed');
        assert.equal(t.state, 'D');
        assert.equal(t.pid, f.pid);
        assert.ok(hasFrame(t, /^kernel_clone\+/));
      });

      test('idle kernel threads (TASK_IDLE) are not counted as D', () => {
        const idle = new Set(artifact(rel, 'idle-tids.txt').split('\n').filter(Boolean).map(Number));
        assert.ok(idle.size >= 10, `${idle.size} idle kernel threads in the guest`);
        const fixtureTids = new Set(fixtures(rel).map((f) => f.tid));
        for (const s of snapshots(rel, 'load_monitor-main.txt')) {
          const d = s.tasks.filter((t) => t.state === 'D');
          for (const t of d) {
            const top = t.stack[0] ?? '';
            assert.ok(!(idle.has(t.tid) && IDLE_LOOP.test(top)), `idle thread ${t.tid} ${t.comm} listed as D (${top})`);
          }
          const others = d.filter((t) => !fixtureTids.has(t.tid)).length;
          assert.ok(others < idle.size / 2, `${others} non-fixture D tasks vs ${idle.size} idle threads`);
        }
      });

      test("loadmon snapshot --source kmod reads the guest's file: same answers as procfs would give", async () => {
        const dir = mkdtempSync(join(tmpdir(), 'loadmon-kmod-cli-'));
        try {
          writeFileSync(join(dir, 'load_monitor'), artifact(rel, 'load_monitor-main.txt'));
          const r = await runCli(['snapshot', '--source', 'kmod', '--proc-root', dir, '--json']);
          assert.equal(r.code, 0, r.stderr);
          const s = JSON.parse(r.stdout) as Snapshot;
          assert.equal(s.schema, 'loadmon.snapshot/v1');
          assert.equal(s.source, 'kmod');
          const fx = fixtures(rel);
          const byTid = new Map(s.tasks.map((t) => [t.tid, t]));
          for (const f of fx.filter((x) => x.kind === 'vfork' || x.kind === 'thread-vfork')) {
            const t = byTid.get(f.tid);
            assert.equal(t?.state, 'D', `tid ${f.tid}`);
            assert.equal(t.pid, f.pid);
            assert.equal(t.stack[0]?.replace(/\+.*/, ''), 'kernel_clone');
          }
          for (const f of fx.filter((x) => x.kind === 'busy')) assert.equal(byTid.get(f.tid)?.state, 'R');
          for (const comm of HOSTILE_COMMS)
            assert.ok(
              s.tasks.some((t) => t.comm === comm),
              comm,
            );
          const seed = await runCli(['snapshot', '--source', 'kmod', '--proc-root', dir, '--format', 'seed']);
          assert.equal(seed.code, 0);
          const vf = fx.find((x) => x.kind === 'vfork')!;
          assert.match(seed.stdout, new RegExp(`^uninterrupted task, comm: \\S+, pid ${vf.tid}\\n kernel_clone\\+`, 'm'));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      test('loadmon watch in the guest leaves the parameters `loadmon kmod load` set, writes only typed options', () => {
        const results = artifact(rel, 'results.txt');
        for (const check of [
          'loadmon kmod load --threshold 1.5 --interval 20ms --cooldown 1s',
          'kmod load set threshold 1.50 interval_ms 20 cooldown_s 1',
          'loadmon watch --source kmod reported a module capture',
          'watch without options keeps threshold 1.50 interval_ms 20 cooldown_s 1',
          'watch --threshold 1.25 writes only the threshold',
        ]) {
          assert.ok(results.split('\n').includes(`PASS ${check}`), `PASS ${check}\n${results}`);
        }
        const s = JSON.parse(artifact(rel, 'loadmon-watch.txt')) as Snapshot;
        assert.equal(s.source, 'kmod');
        // What the module was set to by kmod load, read back by watch, not watch's defaults (3, 20 s).
        assert.equal(s.trigger?.threshold, 1.5);
        assert.equal(s.trigger?.cooldown_ms, 1000);
        assert.ok(s.tasks.some((t) => t.state === 'D'));
      });

      test('the native waiter works on this kernel: a load line per update, PSI armed or refused with a reason', () => {
        const results = artifact(rel, 'results.txt').split('\n');
        for (const check of ['loadmon-wait starts (ready 1)', 'loadmon-wait reports a load-average update within 14 s']) {
          assert.ok(results.includes(`PASS ${check}`), `PASS ${check}`);
        }
        const psi = results.filter((l) => /^(PASS|FAIL) loadmon-wait (arms|refuses) a PSI trigger/.test(l));
        assert.equal(psi.length, 1, 'one PSI check ran');
        assert.match(psi[0]!, /^PASS /);
        // The waiter's own lines: it printed nothing but its protocol.
        for (const line of artifact(rel, 'loadmon-wait.txt').split('\n').filter(Boolean)) {
          assert.match(line, /^(ready 1|load [\d. ]+|ok psi t1|err psi t1 .+|psi t1 [\d.]+)$/);
        }
      });

      test('max_tasks bounds the snapshot and counts what it drops', () => {
        const snaps = snapshots(rel, 'load_monitor-maxtasks.txt');
        assert.equal(snaps.length, 2);
        for (const s of snaps) {
          assert.ok(s.tasks.length <= MAX_TASKS);
          assert.ok(s.dropped > 0);
          assert.equal(s.tasks.length + s.dropped, s.running + s.uninterruptible);
        }
      });

      test('walk costs less than a procfs scan (bench.txt)', () => {
        const bench = artifact(rel, 'bench.txt');
        const lm = /module_walk_ns_per_1000_threads=(\d+)/.exec(bench);
        const ps = /procfs_scan_ns_per_1000_threads=(\d+)/.exec(bench);
        assert.ok(lm && ps, 'bench summary lines');
        assert.ok(Number(lm[1]) < Number(ps[1]), `module ${lm[1]} vs procfs ${ps[1]} ns/1000 threads`);
      });
    });
  }
});
