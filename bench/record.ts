/**
 * Benchmarks of `loadmon record` and `loadmon report` (npm run bench, or
 * npm run bench:record alone):
 *
 *  1. record's CPU use with default settings on an idle machine, as % of one
 *     core (the process and its detail-reader child, from schedstat);
 *  2. report over 7 days of 1 s samples and 1,000 captures: wall time of the
 *     whole `loadmon report` process per format (median), and the store's
 *     size per day.
 *
 *  3. record idle with the native waiter's timeline rows against
 *     LOADMON_WAITER=off (Node samples every second: the "before"), both
 *     `--source procfs --threshold 1000` at the same time, next to the peer, a
 *     C loop sleeping 10 ms in nanosleep; process and children, schedstat,
 *     after a 60 s warm-up (BENCH_ROWS_WARMUP); BENCH_ROWS_RUNS repeats. `bench/record.ts rows`
 *     runs only this part; `bench/record.ts rows bpf` runs it with
 *     `--source bpf` and adds each recorder's BPF programs' own run time
 *     (kernel.bpf_stats_enabled on for the run, restored after; a program
 *     is the recorder's when its helper child holds it, `bpftool prog show`).
 *
 * BENCH_RECORD_SECONDS=60, BENCH_DAYS=7, BENCH_CAPTURES=1000, BENCH_HIGH=0.1
 * (fraction of samples taken at high load, with per-process counts) adjust it.
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { writeSyntheticStore } from '../test/helpers/synthetic-store.ts';
import { CLI, cpuNs, hostLine, median } from './lib.ts';

const RECORD_SECONDS = Number(process.env.BENCH_RECORD_SECONDS ?? '60');
const DAYS = Number(process.env.BENCH_DAYS ?? '7');
const CAPTURES = Number(process.env.BENCH_CAPTURES ?? '1000');
const HIGH = Number(process.env.BENCH_HIGH ?? '0.1');
const RUNS = Number(process.env.BENCH_RUNS ?? '3');
const ROWS_RUNS = Number(process.env.BENCH_ROWS_RUNS ?? '3');
/** The steady state: Node's start-up work lasts past 15 s (bench/watch-idle.ts says what was measured). */
const ROWS_WARMUP_S = Number(process.env.BENCH_ROWS_WARMUP ?? '60');

const PEER_C = '#include <time.h>\nint main(void){struct timespec t={0,10000000L};for(;;)nanosleep(&t,0);}\n';

/**
 * Part 3: the idle recorder with and without the waiter's rows, and the
 * peer, all at once over the same RECORD_SECONDS; % of one core each.
 */
async function rowsIdle(dir: string, source: 'procfs' | 'bpf'): Promise<string[]> {
  writeFileSync(join(dir, 'peer.c'), PEER_C);
  execFileSync('gcc', ['-O2', '-o', join(dir, 'peer'), join(dir, 'peer.c')]);
  const rec =
    (name: string, waiter: string): (() => ChildProcess) =>
    () =>
      spawn(process.execPath, [CLI, 'record', '--db', join(dir, `${name}.db`), '--source', source, '--threshold', '1000', '--quiet'], {
        stdio: 'ignore',
        env: { ...process.env, LOADMON_WAITER: waiter },
      });
  const what = `\`record --source ${source} --threshold 1000\``;
  const subjects: Array<[string, () => ChildProcess]> = [
    [`${what}, rows from the native waiter (batches of 10)`, rec('rows', '')],
    [`${what}, LOADMON_WAITER=off (Node samples every second)`, rec('off', 'off')],
    ['peer: C loop, nanosleep 10 ms', () => spawn(join(dir, 'peer'), [], { stdio: 'ignore' })],
  ];
  const stats = source === 'bpf' ? bpfStatsOn() : null;
  const runs: number[][] = [];
  const kernel: number[][] = [];
  try {
    for (let run = 0; run < ROWS_RUNS; run++) await rowsRun(subjects, runs, kernel, stats !== null);
  } finally {
    stats?.restore();
  }
  return rowsTable(subjects, runs, stats ? kernel : null);
}

/** One run of the subjects side by side: each one's % of a core into `runs`, its BPF programs' into `kernel`. */
async function rowsRun(subjects: Array<[string, () => ChildProcess]>, runs: number[][], kernel: number[][], bpf: boolean): Promise<void> {
  const children = subjects.map(([, start]) => start());
  try {
    await new Promise((r) => setTimeout(r, ROWS_WARMUP_S * 1000));
    const k0 = children.map((c) => (bpf ? bpfRunNs(c.pid!) : 0));
    const c0 = children.map((c) => cpuNs(c.pid!));
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, RECORD_SECONDS * 1000));
    const c1 = children.map((c) => cpuNs(c.pid!));
    const k1 = children.map((c) => (bpf ? bpfRunNs(c.pid!) : 0));
    const wall = Number(process.hrtime.bigint() - t0);
    runs.push(c1.map((c, i) => ((c - c0[i]!) / wall) * 100));
    kernel.push(k1.map((k, i) => ((k - k0[i]!) / wall) * 100));
    const pct = (xs: number[]): string => xs.map((p) => `${p.toFixed(3)}%`).join(' / ');
    console.error(`bench: rows run ${runs.length}: ${pct(runs.at(-1)!)}${bpf ? `; BPF programs ${pct(kernel.at(-1)!)}` : ''}`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  }
}

/** The table: per run and median vs the peer; with `kernel`, the BPF programs' time and the sum too. */
function rowsTable(subjects: Array<[string, () => ChildProcess]>, runs: number[][], kernel: number[][] | null): string[] {
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(3)).join(' / ');
  const rows = kernel
    ? [
        '| idle, all at once | process + children, % of one core, per run | BPF programs | total | total vs the peer (median) |',
        '|---|---:|---:|---:|---:|',
      ]
    : ['| idle, all at once | % of one core, per run | vs the peer (median) |', '|---|---:|---:|'];
  const peer = median(runs.map((r) => r[2]!));
  subjects.forEach(([label], i) => {
    const xs = runs.map((r) => r[i]!);
    if (!kernel) {
      rows.push(`| ${label} | ${fmt(xs)} | ${(median(xs) / peer).toFixed(2)}x |`);
      return;
    }
    const ks = kernel.map((k) => k[i]!);
    const total = xs.map((x, j) => x + ks[j]!);
    rows.push(`| ${label} | ${fmt(xs)} | ${fmt(ks)} | ${fmt(total)} | ${(median(total) / peer).toFixed(2)}x |`);
  });
  rows.push(
    '',
    `${ROWS_RUNS} runs of ${RECORD_SECONDS} s after ${ROWS_WARMUP_S} s of warm-up;` +
      ` loadavg at the end ${readFileSync('/proc/loadavg', 'utf8').trim()}.`,
  );
  return rows;
}

/** kernel.bpf_stats_enabled on (programs count their run time) until restore(). */
function bpfStatsOn(): { restore(): void } {
  const file = '/proc/sys/kernel/bpf_stats_enabled';
  const was = readFileSync(file, 'utf8').trim();
  writeFileSync(file, '1');
  return { restore: () => writeFileSync(file, was) };
}

/**
 * Run time (ns) of the BPF programs held by `pid`'s children (its helper):
 * their ids from the fds' fdinfo (`prog_id:`, program and link fds alike;
 * this bpftool prints no owner pids), their run time from `bpftool prog show`.
 */
function bpfRunNs(pid: number): number {
  const ids = new Set<number>();
  for (const kid of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
    for (const fd of readdirSync(`/proc/${kid}/fdinfo`)) {
      const m = /^prog_id:\s+(\d+)$/m.exec(readFileSync(`/proc/${kid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    }
  }
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' }) || '[]') as Array<{
    id: number;
    run_time_ns?: number;
  }>;
  return progs.filter((p) => ids.has(p.id)).reduce((a, p) => a + (p.run_time_ns ?? 0), 0);
}

/**
 * record's own CPU, `extra` added to the default options. With the defaults
 * on a machine whose load1 is below 1.5 (half the default threshold) it runs
 * the idle path; `--threshold 1000` forces that path on a busy machine (the
 * load only decides whether the light scan runs, not what the rest costs).
 */
async function recordOverhead(dir: string, extra: string[], label: string): Promise<string> {
  const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const before = load();
  const child = spawn(process.execPath, [CLI, 'record', '--db', join(dir, `idle${extra.length}.db`), '--quiet', ...extra], {
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 3000));
  const c0 = cpuNs(child.pid!);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, RECORD_SECONDS * 1000));
  const c1 = cpuNs(child.pid!);
  const wall = Number(process.hrtime.bigint() - t0);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const pct = ((c1 - c0) / wall) * 100;
  const row =
    `| \`loadmon record${extra.length ? ` ${extra.join(' ')}` : ''}\`: ${label} (${RECORD_SECONDS} s; ` +
    `loadavg ${before} at start) | ${pct.toFixed(3)}% of one core |`;
  console.error(`bench: ${row}`);
  return row;
}

function syntheticStore(path: string): { writeMs: number; bytes: number } {
  const t0 = performance.now();
  writeSyntheticStore(path, { days: DAYS, captures: CAPTURES, high: HIGH, end: Date.now() });
  return { writeMs: performance.now() - t0, bytes: statSync(path).size };
}

function timeReport(db: string, format: string): number {
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [CLI, 'report', '--db', db, '--format', format], {
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`report --format ${format} failed: ${r.stderr}`);
    xs.push(performance.now() - t);
  }
  return median(xs);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-bench-rec-'));
  try {
    const rowsTable = await rowsIdle(dir, process.argv[3] === 'bpf' ? 'bpf' : 'procfs');
    if (process.argv[2] === 'rows') {
      console.log([`# loadmon record idle: the waiter's rows ${new Date().toISOString()}`, '', hostLine(), '', ...rowsTable].join('\n'));
      return;
    }
    const overhead = [
      '| what | CPU |',
      '|---|---:|',
      await recordOverhead(dir, [], 'defaults (threshold 3, sample 1s, interval 10ms); light scans run while load1 >= 1.5'),
      await recordOverhead(dir, ['--threshold', '1000'], 'the idle path (load1 below the scan level)'),
    ];
    const idleBytes = statSync(join(dir, 'idle2.db')).size;
    const db = join(dir, 'week.db');
    const { writeMs, bytes } = syntheticStore(db);
    console.error(`bench: wrote ${DAYS} days of samples and ${CAPTURES} captures in ${(writeMs / 1000).toFixed(1)} s, ${bytes} bytes`);
    const rows = [`| \`loadmon report\` over the store | wall time, whole process (median of ${RUNS}) |`, '|---|---:|'];
    for (const f of ['text', 'json', 'folded', 'svg']) {
      const ms = timeReport(db, f);
      rows.push(`| \`--format ${f}\` | ${(ms / 1000).toFixed(2)} s |`);
      console.error(`bench: report --format ${f}: ${ms.toFixed(0)} ms`);
    }
    const perDay = bytes / DAYS;
    const out = [
      `# loadmon record/report benchmark ${new Date().toISOString()}`,
      '',
      hostLine(),
      '',
      ...overhead,
      '',
      ...rowsTable,
      '',
      `Synthetic store: ${DAYS} days of 1 s samples (${Math.round(HIGH * 100)}% of them at high load with 9 processes ` +
        `counted), ${CAPTURES} captures of 40 tasks.`,
      '',
      ...rows,
      '',
      '| store size | bytes |',
      '|---|---:|',
      `| ${DAYS} days + ${CAPTURES} captures | ${bytes} (${(bytes / 1048576).toFixed(1)} MiB) |`,
      `| per day (that mix) | ${Math.round(perDay)} (${(perDay / 1048576).toFixed(1)} MiB) |`,
      `| idle recording, ${RECORD_SECONDS + 3} s (WAL checkpointed at exit) | ${idleBytes} |`,
    ];
    console.log(out.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
