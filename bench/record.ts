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

import { writeSyntheticStore } from '../test/helpers/synthetic-store.ts';
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
