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
 * BENCH_RECORD_SECONDS=60, BENCH_DAYS=7, BENCH_CAPTURES=1000, BENCH_HIGH=0.1
 * (fraction of samples taken at high load, with per-process counts) adjust it.
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import type { Snapshot } from '../src/model/snapshot.ts';
import type { TimelineSample } from '../src/model/timeline.ts';
import { StoreWriter } from '../src/store/writer.ts';
import { CLI, cpuNs, hostLine, median } from './lib.ts';

const RECORD_SECONDS = Number(process.env.BENCH_RECORD_SECONDS ?? '60');
const DAYS = Number(process.env.BENCH_DAYS ?? '7');
const CAPTURES = Number(process.env.BENCH_CAPTURES ?? '1000');
const HIGH = Number(process.env.BENCH_HIGH ?? '0.1');
const RUNS = Number(process.env.BENCH_RUNS ?? '3');

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

const STACKS = [
  ['kernel_clone+0x1d3/0x400', '__do_sys_vfork+0x66/0x90', 'do_syscall_64+0x71/0x290', 'entry_SYSCALL_64_after_hwframe+0x76/0x7e'],
  [
    'io_schedule+0x46/0x70',
    'folio_wait_bit_common+0x13d/0x350',
    'folio_wait_writeback+0x2b/0x80',
    '__filemap_fdatawait_range+0x8d/0xf0',
    'file_write_and_wait_range+0x85/0xb0',
    'ext4_sync_file+0x7a/0x360',
    '__x64_sys_fsync+0x3b/0x70',
    'do_syscall_64+0x71/0x290',
    'entry_SYSCALL_64_after_hwframe+0x76/0x7e',
  ],
  [
    'jbd2_log_wait_commit+0xb2/0x120',
    'jbd2_complete_transaction+0x5a/0x90',
    'ext4_sync_file+0x1c5/0x360',
    '__x64_sys_fsync+0x3b/0x70',
    'do_syscall_64+0x71/0x290',
    'entry_SYSCALL_64_after_hwframe+0x76/0x7e',
  ],
];

function syntheticStore(path: string): { writeMs: number; bytes: number } {
  const t0 = performance.now();
  const w = StoreWriter.open(path);
  w.beginSession({
    startedMs: 0,
    host: 'bench',
    pid: 1,
    cpus: 2,
    source: 'procfs',
    threshold: 3,
    thresholdSpec: '3',
    scanAbove: 1.5,
    sampleMs: 1000,
  });
  const end = Date.now();
  const start = end - DAYS * 86_400_000;
  const every = Math.max(1, Math.floor((DAYS * 86_400) / CAPTURES));
  let captureNo = 0;
  for (let i = 0, t = start; t < end; i++, t += 1000) {
    // High-load hours recur: the first HIGH of every 10,000 s.
    const high = i % 10_000 < HIGH * 10_000;
    const load1 = high ? 6 + (i % 7) / 10 : 0.3;
    const s: TimelineSample = {
      timeMs: t,
      load1,
      load5: load1,
      load15: load1,
      runnable: high ? 3 : 1,
      threads: 800,
      pressure: {
        cpu: {
          some: { avg10: high ? 40 : 0.5, avg60: 1, avg300: 1, totalUs: i * 1000 },
          full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 },
        },
        io: {
          some: { avg10: high ? 20 : 0, avg60: 1, avg300: 1, totalUs: i * 300 },
          full: { avg10: 0, avg60: 0, avg300: 0, totalUs: i * 100 },
        },
        memory: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 } },
      },
      scan: high
        ? {
            r: 3,
            d: 6,
            procs: Array.from({ length: 9 }, (_, k) => ({
              pid: 1000 + k + Math.floor(i / 50_000) * 10,
              comm: `worker-${k}`,
              cgroup: `/system.slice/app${k % 3}.service`,
              r: k < 3 ? 1 : 0,
              d: k < 3 ? 0 : 1,
            })),
          }
        : null,
    };
    w.insertSample(s);
    if (i % every === 0 && captureNo < CAPTURES) {
      captureNo++;
      const tasks = Array.from({ length: 40 }, (_, k) => ({
        pid: 1000 + (k % 9),
        tid: 1000 + k,
        comm: `worker-${k % 9}`,
        state: (k < 6 ? 'R' : 'D') as 'R' | 'D',
        stack: k < 6 ? [] : STACKS[k % 3]!,
        wchan: k < 6 ? null : 'io_schedule',
        cgroup: `/system.slice/app${k % 3}.service`,
      }));
      const snap: Snapshot = {
        schema: 'loadmon.snapshot/v1',
        time: new Date(t).toISOString(),
        host: 'bench',
        source: 'procfs',
        cpus: 2,
        loadavg: { load1: 6.5, load5: 4, load15: 2, runnable: 6, threads: 800 },
        trigger: {
          reason: 'load1>=threshold',
          threshold: 3,
          threshold_spec: '3',
          load1: 6.5,
          cooldown_ms: 20000,
          capture_index: captureNo,
        },
        capture: { ms: 12, threads_scanned: 800 },
        tasks,
        notes: [],
      };
      w.insertCapture(snap);
    }
  }
  w.close();
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
