/**
 * eBPF collector benchmark (npm run bench:bpf, also part of npm run bench):
 *
 * 1. the cost of one snapshot pass per 1,000 threads, bpf vs procfs, measured
 * in the same run on the same threads, at 5,000 and 10,000 threads alive:
 *
 *  - bpf walk: the kernel's task-iterator pass as the helper times it
 *    (bpf_iter_create to the last read), R/D filtering and stacks included;
 *  - bpf capture: the whole BpfCollector.capture() in Node (pipe round trip,
 *    kernel symbolisation, cgroups), warm caches, no profile window;
 *  - procfs capture: ProcfsCollector.capture() with inline detail reads.
 *
 * 2. the time-blocked-in-D tracking (sched_switch + sched_wakeup programs)
 * on its worst case, two processes pinned to one CPU bouncing a byte through
 * pipes: round-trip time with and without it, alternating runs;
 *
 * 3. `loadmon record --source bpf` on an idle machine: CPU of the Node
 * process and the helper, plus the kernel time of loadmon's BPF programs
 * (kernel.bpf_stats_enabled, which itself adds a little), as % of one core.
 *
 * BENCH_BPF_SIZES=5000,10000, BENCH_RUNS=11, BENCH_PINGPONG_RUNS=7 and
 * BENCH_RECORD_SECONDS=60 adjust the run; BENCH_BPF_PARTS=passes,tracking,record
 * picks the parts.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { helperPath } from '../src/bpf/availability.ts';
import { BpfHelper } from '../src/bpf/helper.ts';
import { BpfCollector } from '../src/collect/bpf.ts';
import { ProcfsCollector } from '../src/collect/procfs.ts';
import { buildLoadgen } from '../src/workload/helper.ts';
import { Workload } from '../src/workload/workload.ts';
import { CLI, cpuNs, hostLine, median, ROOT, systemThreads } from './lib.ts';

const SIZES = (process.env.BENCH_BPF_SIZES ?? '5000,10000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? '11');
const PINGPONG_RUNS = Number(process.env.BENCH_PINGPONG_RUNS ?? '7');
const RECORD_SECONDS = Number(process.env.BENCH_RECORD_SECONDS ?? '60');
const PINGPONG_ROUNDS = 100_000;
const PARTS = new Set((process.env.BENCH_BPF_PARTS ?? 'passes,tracking,record').split(','));

const rows = [
  '| threads alive | bpf walk, ms per 1,000 threads | bpf capture (Node, end to end), ms per 1,000 | procfs capture, ms per ' +
    '1,000 | procfs / bpf walk | procfs / bpf capture |',
  '|---:|---:|---:|---:|---:|---:|',
];
const loadgen = buildLoadgen();
let pass = '?';
for (const size of PARTS.has('passes') ? SIZES : []) {
  const work = new Workload(loadgen);
  const bpf = new BpfCollector({ profileMs: 0 });
  const procfs = new ProcfsCollector({ details: 'inline' });
  try {
    const want = Math.max(0, size - systemThreads());
    for (let left = want; left > 0; left -= 1000) await work.threads(Math.min(1000, left), 600);
    for (let i = 0; i < 4; i++) await work.vfork(600);
    await work.spin(600);
    await new Promise((r) => setTimeout(r, 500));
    const alive = systemThreads();
    await bpf.capture({ depth: 20 }); // warm: helper started, kallsyms and cgroups cached
    pass = (await bpf.start()).pass;
    const walk: number[] = [];
    const cap: number[] = [];
    const pro: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const b = await bpf.capture({ depth: 20 });
      walk.push((b.capture.walk_ms! / b.capture.threads_scanned) * 1000);
      cap.push((b.capture.ms / b.capture.threads_scanned) * 1000);
      const p = await procfs.capture({ depth: 20 });
      pro.push((p.capture.ms / p.capture.threads_scanned) * 1000);
    }
    const row =
      `| ${alive} | ${median(walk).toFixed(3)} | ${median(cap).toFixed(3)} | ${median(pro).toFixed(2)} |` +
      ` ${(median(pro) / median(walk)).toFixed(0)}x | ${(median(pro) / median(cap)).toFixed(0)}x |`;
    rows.push(row);
    console.error(`bench:bpf: ${row}`);
  } finally {
    bpf.close();
    procfs.close();
    await work.stop();
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'loadmon-bench-bpf-'));

/** ns per round trip of the pinned pipe ping-pong. */
function pingPong(bin: string, cpu: number): number {
  const r = spawnSync(bin, [String(cpu), String(PINGPONG_ROUNDS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pingpong failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

async function trackingCost(): Promise<string[]> {
  const bin = join(tmp, 'pingpong');
  execFileSync('gcc', ['-O2', '-o', bin, join(ROOT, 'bench', 'helpers', 'pingpong.c')]);
  const cpu = cpus().length - 1;
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < PINGPONG_RUNS; i++) {
    off.push(pingPong(bin, cpu));
    const h = await BpfHelper.start(helperPath());
    try {
      await h.offcpuStart(process.pid);
      on.push(pingPong(bin, cpu));
    } finally {
      h.close();
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const cost = median(on) / median(off) - 1;
  const row =
    `| pipe ping-pong, 2 processes pinned to CPU ${cpu} | ${median(off).toFixed(0)} ns | ${median(on).toFixed(0)} ns ` +
    `| ${(cost * 100).toFixed(1)}% |`;
  console.error(`bench:bpf: ${row}`);
  return [
    `| workload (medians of ${PINGPONG_RUNS} alternating runs) | round trip, no tracking | with the tracking | cost |`,
    '|---|---:|---:|---:|',
    row,
  ];
}

type ProgStat = { id: number; name?: string; run_time_ns?: number; run_cnt?: number };
const OUR_PROGS = new Set(['dump_tasks', 'dump_all', 'on_switch', 'on_wakeup', 'on_cpu_sample', 'on_lock_begin', 'on_lock_end']);

function progStats(): Map<number, ProgStat> {
  const list = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' }) || '[]') as ProgStat[];
  return new Map(list.filter((p) => OUR_PROGS.has(p.name ?? '')).map((p) => [p.id, p]));
}

async function recordOverhead(): Promise<string[]> {
  const statsFile = '/proc/sys/kernel/bpf_stats_enabled';
  const statsWas = readFileSync(statsFile, 'utf8').trim();
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const before = new Set(progStats().keys());
  writeFileSync(statsFile, '1');
  const child = spawn(process.execPath, [CLI, 'record', '--db', join(tmp, 'bpf.db'), '--source', 'bpf', '--threshold', '1000', '--quiet'], {
    stdio: 'ignore',
  });
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const ours = (): ProgStat[] => [...progStats().values()].filter((p) => !before.has(p.id));
    const k0 = ours().reduce((a, p) => a + (p.run_time_ns ?? 0), 0);
    const c0 = cpuNs(child.pid!);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, RECORD_SECONDS * 1000));
    const c1 = cpuNs(child.pid!);
    const progs = ours();
    const k1 = progs.reduce((a, p) => a + (p.run_time_ns ?? 0), 0);
    const wall = Number(process.hrtime.bigint() - t0);
    const user = ((c1 - c0) / wall) * 100;
    const kernel = ((k1 - k0) / wall) * 100;
    const detail = progs
      .map((p) => `${p.name} ${((p.run_time_ns ?? 0) / Math.max(1, p.run_cnt ?? 0)) | 0} ns x ${p.run_cnt ?? 0}`)
      .join(', ');
    const row =
      `| \`loadmon record --source bpf --threshold 1000\` (${RECORD_SECONDS} s; loadavg ${load} at start) | ${user.toFixed(3)}% ` +
      `| ${kernel.toFixed(3)}% |` +
      ` ${(user + kernel).toFixed(3)}% | ${detail} |`;
    console.error(`bench:bpf: ${row}`);
    return [
      '| what | Node + helper CPU | BPF programs (kernel) | total, % of one core | programs: mean run time x runs |',
      '|---|---:|---:|---:|---|',
      row,
    ];
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    writeFileSync(statsFile, statsWas);
  }
}

let tracking: string[] = [];
let overhead: string[] = [];
try {
  if (PARTS.has('tracking')) tracking = await trackingCost();
  if (PARTS.has('record')) overhead = await recordOverhead();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

console.log(
  [
    `# loadmon bpf benchmark run ${new Date().toISOString()}`,
    '',
    `${hostLine()}, ${RUNS} runs per figure (medians), bpf pass: ${pass}`,
    '',
    ...rows,
    '',
    ...tracking,
    '',
    ...overhead,
  ].join('\n'),
);
