/**
 * The light scan's CPU budget (`record --cpu-budget`, issue 14 part 3):
 * `loadmon record --source procfs` while load1 is above the scan level, with
 * BENCH_BUDGET_THREADS (default 5000,20000) sleeping threads alive, the
 * default budget (1% of a core) next to `--cpu-budget off`, both running at
 * the same time so they see the same machine. CPU from schedstat (process and
 * children), after a warm-up that covers the start-up capture (--cooldown 1h:
 * one capture only). Also counts the samples each recorder scanned and thinned.
 *
 * node --import tsx bench/record-budget.ts (needs npm run build: it runs dist/).
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { buildLoadgen } from '../src/workload/helper.ts';
import { Workload } from '../src/workload/workload.ts';
import { CLI, cpuNs, hostLine, systemThreads } from './lib.ts';

const SIZES = (process.env.BENCH_BUDGET_THREADS ?? '5000,20000').split(',').map(Number);
const WARMUP_S = Number(process.env.BENCH_BUDGET_WARMUP ?? '15');
const MEASURE_S = Number(process.env.BENCH_BUDGET_SECONDS ?? '30');

interface Run {
  label: string;
  db: string;
  pid: number;
  stop(): Promise<void>;
}

function startRecord(dir: string, label: string, budget: string): Run {
  const db = join(dir, `${label}.db`);
  // Scan level 0.01: any load scans; one capture at start, then the cooldown.
  const args = [
    CLI,
    'record',
    '--source',
    'procfs',
    '--threshold',
    '0.02',
    '--cooldown',
    '1h',
    '--cpu-budget',
    budget,
    '--db',
    db,
    '--quiet',
  ];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  return {
    label,
    db,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

function scanCounts(db: string, fromMs: number): { scanned: number; thinned: number; samples: number } {
  const d = new Database(db, { readonly: true });
  try {
    const r = d.prepare('SELECT COUNT(*) AS n, SUM(scanned = 1) AS s, SUM(scanned = 2) AS t FROM samples WHERE t_ms >= ?').get(fromMs) as {
      n: number;
      s: number | null;
      t: number | null;
    };
    return { samples: r.n, scanned: r.s ?? 0, thinned: r.t ?? 0 };
  } finally {
    d.close();
  }
}

async function measure(dir: string, threads: number): Promise<string[]> {
  const runs = [startRecord(dir, `budget-${threads}`, '1'), startRecord(dir, `off-${threads}`, 'off')];
  try {
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    const from = Date.now();
    const c0 = runs.map((r) => cpuNs(r.pid));
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, MEASURE_S * 1000));
    const c1 = runs.map((r) => cpuNs(r.pid));
    const wall = Number(process.hrtime.bigint() - t0);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    return runs.map((r, i) => {
      const pct = ((c1[i]! - c0[i]!) / wall) * 100;
      const n = scanCounts(r.db, from);
      const budget = i === 0 ? '1% (default)' : 'off';
      const row = `| ${threads} | ${budget} | ${pct.toFixed(2)}% | ${n.scanned} / ${n.thinned} / ${n.samples} | ${load} |`;
      console.error(`bench: ${row}`);
      return row;
    });
  } finally {
    for (const r of runs) await r.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-bench-budget-'));
  const rows = [
    `# loadmon record --cpu-budget benchmark ${new Date().toISOString()}`,
    '',
    hostLine(),
    '',
    `${WARMUP_S} s warm-up, then ${MEASURE_S} s measured; both recorders at once.`,
    '',
    '| threads alive | --cpu-budget | record CPU, % of one core | samples scanned / thinned / all | loadavg at end |',
    '|---:|---|---:|---|---|',
  ];
  const work = new Workload(buildLoadgen());
  try {
    for (const n of SIZES) {
      for (let left = Math.max(0, n - systemThreads()); left > 0; left -= 1000) {
        await work.threads(Math.min(1000, left), WARMUP_S + MEASURE_S + 600);
      }
      await new Promise((r) => setTimeout(r, 1000));
      rows.push(...(await measure(dir, systemThreads())));
    }
  } finally {
    await work.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(rows.join('\n'));
}

await main();
