/**
 * `report --format pprof` read by `go tool pprof` (Debian's golang-go): on
 * stores recorded from a real D workload (two vfork parents blocked for the
 * whole run, one process blocking 30 ms at a time) by `record --source bpf`
 * (measured blocked time) and by `record --source procfs` (observations
 * only), the totals pprof computes and its top function are what the
 * report of the same store holds. Skipped only when `go` is not installed.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { frameSymbol } from '../../src/analyze/causes.ts';
import { bpfUnavailable } from '../../src/bpf/availability.ts';
import type { Report } from '../../src/model/report.ts';
import { buildLoadgen } from '../../src/workload/helper.ts';
import { Workload } from '../../src/workload/workload.ts';
import { CLI, runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-pprof-'));
const RUN_MS = 7000;

function goMissing(): string | null {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'go is not installed (apt-get install golang-go: go tool pprof reads the profile)';
  }
}
const skip = goMissing();

let work: Workload | undefined;
let vforkPids: number[] = [];

function record(db: string, source: string): Promise<{ code: number | null; stderr: string }> {
  const args = [CLI, 'record', '--db', db, '--source', source, '--threshold', '0', '--cooldown', '2s', '--quiet'];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  setTimeout(() => child.kill('SIGTERM'), RUN_MS);
  return exited.then((code) => ({ code, stderr }));
}

before(async () => {
  if (skip) return;
  assert.equal(bpfUnavailable(), null, 'the eBPF collector must work on this machine (root, helper built)');
  work = new Workload(buildLoadgen());
  vforkPids = [(await work.vfork(60, 'pp-vfork')).pid, (await work.vfork(60, 'pp-vfork')).pid];
  await work.pulse(30, 60, 'pp-pulse');
  await new Promise((r) => setTimeout(r, 300));
  const [bpf, procfs] = await Promise.all([record(join(dir, 'bpf.db'), 'bpf'), record(join(dir, 'procfs.db'), 'procfs')]);
  assert.equal(bpf.code, 0, bpf.stderr);
  assert.equal(procfs.code, 0, procfs.stderr);
  await work.stop();
});

after(async () => {
  await work?.stop();
  if (!process.env.LOADMON_KEEP_TEST_FILES) rmSync(dir, { recursive: true, force: true });
});

/** go tool pprof, with its home and temp dir in the test's directory (it may write $HOME/pprof). */
function pprof(args: string[]): string {
  const env = { ...process.env, HOME: dir, PPROF_TMPDIR: dir };
  return execFileSync('go', ['tool', 'pprof', ...args], { env, encoding: 'utf8', timeout: 120_000 });
}

/** Sums of each sample type over `-raw`'s samples, as pprof decoded them. */
function rawTotals(file: string): { types: string[]; totals: number[]; labels: string } {
  const out = pprof(['-raw', file]);
  const lines = out.split('\n');
  const header = lines.findIndex((l) => l.startsWith('Samples:'));
  const types = lines[header + 1]!.trim().split(/\s+/);
  const totals = types.map(() => 0);
  for (const l of lines.slice(header + 2)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+):/.exec(l);
    if (m) for (let i = 0; i < 4; i++) totals[i]! += Number(m[i + 1]);
  }
  return { types, totals, labels: out };
}

/** `-top`'s first row (largest flat value): its function and flat value in `unit`. */
function topFunction(file: string, index: string, unit: string): { name: string; flat: number } {
  const out = pprof(['-top', `-sample_index=${index}`, `-unit=${unit}`, file]);
  const lines = out.split('\n');
  const head = lines.findIndex((l) => /^\s*flat\s+flat%/.test(l));
  const m = /^\s*([\d.]+)\D*\s+[\d.]+%\s+[\d.]+%\s+[\d.]+\S*\s+[\d.]+%\s+(.+)$/.exec(lines[head + 1]!);
  assert.ok(m, out);
  return { flat: Number(m[1]), name: m[2]!.trim() };
}

async function reportOf(db: string, file: string): Promise<Report> {
  const p = await runCli(['report', '--db', db, '--format', 'pprof', '--out', file]);
  assert.equal(p.code, 0, p.stderr);
  const r = await runCli(['report', '--db', db, '--json', '--top', '1000']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

/** Leaf function -> weight, from the report's stacks: what pprof's flat column adds up. */
function byLeaf(items: Array<{ frames: string[]; w: number }>, state: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const { frames, w } of items) {
    const leaf = frames.length > 0 ? frameSymbol(frames[0]!) : `[${state}: no kernel stack]`;
    m.set(leaf, (m.get(leaf) ?? 0) + w);
  }
  return m;
}

function assertTop(top: { name: string; flat: number }, leaves: Map<string, number>, tolerance: number): void {
  const max = Math.max(...leaves.values());
  assert.ok(Math.abs(top.flat - max) <= tolerance, `pprof top ${top.name} ${top.flat}, report max ${max}`);
  assert.ok(Math.abs((leaves.get(top.name) ?? -1) - max) <= tolerance, `${top.name} is a leaf with the most: ${[...leaves]}`);
}

test('--source bpf: pprof reads the measured blocked time and the D observations the report holds', { skip: skip ?? false }, async () => {
  const file = join(dir, 'bpf.pb.gz');
  const report = await reportOf(join(dir, 'bpf.db'), file);
  assert.ok(report.blocked && report.blocked.blocked_s > 0, 'the recorder measured blocked time');
  const { types, totals, labels } = rawTotals(file);
  assert.deepEqual(types, ['blocked/nanoseconds[dflt]', 'd_observations/count', 'r_observations/count', 'cpu_samples/count']);
  // Each (process, stack) pair is rounded to a nanosecond once.
  const pairs = report.blocked.stacks.reduce((a, s) => a + s.distinct_processes!, 0);
  assert.ok(Math.abs(totals[0]! - report.blocked.blocked_s * 1e9) <= pairs, `${totals[0]} ns vs ${report.blocked.blocked_s} s`);
  const count = (state: string) => report.stacks.filter((s) => s.state === state).reduce((a, s) => a + s.count, 0);
  assert.ok(report.captures.length >= 2);
  assert.equal(totals[1], count('D'));
  assert.equal(totals[2], count('R'));
  for (const pid of vforkPids) assert.match(labels, new RegExp(`comm:\\[pp-vfork\\][^\\n]*\\n?[^\\n]*pid:\\[${pid}\\]`));

  const blocked = byLeaf(
    report.blocked.stacks.map((s) => ({ frames: s.frames, w: s.blocked_s * 1000 })),
    'D',
  );
  // -unit=ms prints two decimals at most: allow 0.01 ms.
  assertTop(topFunction(file, 'blocked', 'ms'), blocked, 0.01);
  // The two vfork parents blocked all along: their leaf holds at least their 2 x the covered time.
  assert.ok(blocked.get('kernel_clone')! >= 2 * report.blocked.covered_s * 1000 * 0.9, `${[...blocked]}`);
  const d = byLeaf(
    report.stacks.filter((s) => s.state === 'D').map((s) => ({ frames: s.frames, w: s.count })),
    'D',
  );
  assertTop(topFunction(file, 'd_observations', 'count'), d, 0);
});

test('--source procfs: observations only, the top D function and totals as the report says', { skip: skip ?? false }, async () => {
  const file = join(dir, 'procfs.pb.gz');
  const report = await reportOf(join(dir, 'procfs.db'), file);
  assert.equal(report.blocked, null);
  const { types, totals } = rawTotals(file);
  assert.deepEqual(types, ['blocked/nanoseconds', 'd_observations/count[dflt]', 'r_observations/count', 'cpu_samples/count']);
  assert.equal(totals[0], 0);
  const count = (state: string) => report.stacks.filter((s) => s.state === state).reduce((a, s) => a + s.count, 0);
  assert.ok(count('D') >= 2 * report.captures.length, 'the vfork parents are in every capture');
  assert.equal(totals[1], count('D'));
  assert.equal(totals[2], count('R'));
  const d = byLeaf(
    report.stacks.filter((s) => s.state === 'D').map((s) => ({ frames: s.frames, w: s.count })),
    'D',
  );
  const top = topFunction(file, 'd_observations', 'count');
  assertTop(top, d, 0);
  assert.equal(top.name, 'kernel_clone', 'two vfork parents in every capture, the pulse in some');
});
