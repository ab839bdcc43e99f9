/**
 * loadmon benchmarks (npm run bench). Every figure is measured in this run,
 * next to a real peer measured in the same run:
 *
 *  1. in-process procfs scan cost, ms per 1,000 threads, at 1k/5k/10k threads;
 *  2. a whole `loadmon snapshot --json` process vs `ps -eLo pid,tid,stat,wchan:32,comm`,
 *     alternating, median ratio;
 *  3. `loadmon watch` at the default 10 ms interval on an idle machine: its
 *     CPU use (including its detail-reader child) as % of one core.
 *
 * BENCH_SIZES=1000,5000 and BENCH_WATCH_SECONDS=60 adjust the run.
 */

import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { ProcfsCollector } from '../src/collect/procfs.ts';
import { buildLoadgen } from '../src/workload/helper.ts';
import { Workload } from '../src/workload/workload.ts';
import { CLI, cpuNs, hostLine, median, systemThreads } from './lib.ts';

const SIZES = (process.env.BENCH_SIZES ?? '1000,5000,10000').split(',').map(Number);
const WATCH_SECONDS = Number(process.env.BENCH_WATCH_SECONDS ?? '60');
const RUNS = Number(process.env.BENCH_RUNS ?? '11');

function timeCommand(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with ${r.status}`);
  return ms;
}

async function scanBench(): Promise<string[]> {
  const rows: string[] = [
    '| threads alive | in-process scan, ms per 1,000 threads (median) | `loadmon snapshot --json` process, ms (median) | `ps ' +
      '-eLo pid,tid,stat,wchan:32,comm`, ms (median) | loadmon / ps |',
    '|---:|---:|---:|---:|---:|',
  ];
  const loadgen = buildLoadgen();
  for (const size of SIZES) {
    const work = new Workload(loadgen);
    try {
      const base = systemThreads();
      const want = Math.max(0, size - base);
      // Spread over processes of at most 1,000 threads, plus a little real load to capture.
      for (let left = want; left > 0; left -= 1000) await work.threads(Math.min(1000, left), 600);
      for (let i = 0; i < 4; i++) await work.vfork(600);
      await work.spin(600);
      await new Promise((r) => setTimeout(r, 500));
      const alive = systemThreads();
      const collector = new ProcfsCollector({ details: 'inline' });
      const perK: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const s = await collector.capture({ depth: 20 });
        perK.push((s.capture.ms / s.capture.threads_scanned) * 1000);
      }
      collector.close();
      const lm: number[] = [];
      const ps: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        lm.push(timeCommand(process.execPath, [CLI, 'snapshot', '--json', '--source', 'procfs']));
        ps.push(timeCommand('ps', ['-eLo', 'pid,tid,stat,wchan:32,comm']));
      }
      const row =
        `| ${alive} | ${median(perK).toFixed(2)} | ${median(lm).toFixed(1)} | ${median(ps).toFixed(1)} ` +
        `| ${(median(lm) / median(ps)).toFixed(2)}x |`;
      rows.push(row);
      console.error(`bench: ${row}`);
    } finally {
      await work.stop();
    }
  }
  return rows;
}

async function watchBench(): Promise<string[]> {
  const child = spawn(process.execPath, [CLI, 'watch', '--threshold', '100000', '--interval', '10ms', '--quiet', '--source', 'procfs'], {
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 2000)); // let startup (and the detail child's) finish
  const c0 = cpuNs(child.pid!);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, WATCH_SECONDS * 1000));
  const c1 = cpuNs(child.pid!);
  const wallNs = Number(process.hrtime.bigint() - t0);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const pct = ((c1 - c0) / wallNs) * 100;
  const row = `| \`loadmon watch\` (interval 10ms, idle, ${WATCH_SECONDS} s) | ${pct.toFixed(3)}% of one core |`;
  console.error(`bench: ${row}`);
  return ['| what | CPU |', '|---|---:|', row];
}

const header = [`# loadmon benchmark run ${new Date().toISOString()}`, '', `${hostLine()}, ${RUNS} runs per figure`, ''];
const out = [...header, ...(await scanBench()), '', ...(await watchBench())];
console.log(out.join('\n'));
