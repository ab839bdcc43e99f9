/**
 * The recorder's CPU budget (`record --cpu-budget`, issue 14 part 3):
 * `loadmon record --source procfs` while load1 is above the scan level, with
 * BENCH_BUDGET_THREADS (default 5000,20000,50000) sleeping threads alive, the
 * default budget (1% of a core) next to `--cpu-budget off`, both running at
 * the same time so they see the same machine. CPU from schedstat (process and
 * children), after a warm-up that covers the start-up capture (--cooldown 1h:
 * one capture only). Also counts the samples each recorder scanned and thinned,
 * and whether the budgeted timeline has per-process rows of a busy loop (R)
 * and a vfork-blocked parent (D) started before the recorders.
 *
 * Each thread is a pid: kernel.pid_max (32768 by default) is raised for the
 * run when the population needs it, and restored after.
 *
 * node --import tsx bench/record-budget.ts (needs npm run build: it runs dist/).
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { buildLoadgen } from '../src/workload/helper.ts';
import { Workload } from '../src/workload/workload.ts';
import { CLI, cpuNs, hostLine, systemThreads } from './lib.ts';

const SIZES = (process.env.BENCH_BUDGET_THREADS ?? '5000,20000,50000').split(',').map(Number);
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

/** Which of `pids` have per-process rows in the store, over the whole recording. */
function pidsInTimeline(db: string, pids: number[]): Set<number> {
  const d = new Database(db, { readonly: true });
  try {
    const q = d.prepare('SELECT COUNT(*) AS n FROM sample_procs sp JOIN procs p ON p.id = sp.proc_id WHERE p.pid = ?');
    return new Set(pids.filter((pid) => (q.get(pid) as { n: number }).n > 0));
  } finally {
    d.close();
  }
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

interface Fixtures {
  busy: number;
  blocked: number;
}

async function measure(dir: string, threads: number, fx: Fixtures): Promise<string[]> {
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
      const seen = pidsInTimeline(r.db, [fx.busy, fx.blocked]);
      const rd = `${seen.has(fx.busy) ? 'R yes' : 'R no'}, ${seen.has(fx.blocked) ? 'D yes' : 'D no'}`;
      const row = `| ${threads} | ${budget} | ${pct.toFixed(2)}% | ${n.scanned} / ${n.thinned} / ${n.samples} | ${rd} | ${load} |`;
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
    '| threads alive | --cpu-budget | record CPU, % of one core | samples scanned / thinned / all |' +
      ' busy (R) and vfork (D) fixtures in the timeline | loadavg at end |',
    '|---:|---|---:|---|---|---|',
  ];
  const work = new Workload(buildLoadgen());
  const restorePidMax = raisePidMax(Math.max(...SIZES));
  const lifetime = SIZES.length * (WARMUP_S + MEASURE_S + 300);
  try {
    const fx = { busy: (await work.spin(lifetime)).pid, blocked: (await work.vfork(lifetime, 'budget-dwait')).pid };
    for (const n of SIZES) {
      for (let left = Math.max(0, n - systemThreads()); left > 0; left -= 1000) {
        await work.threads(Math.min(1000, left), lifetime);
      }
      await new Promise((r) => setTimeout(r, 1000));
      rows.push(...(await measure(dir, systemThreads(), fx)));
    }
  } finally {
    await work.stop();
    restorePidMax();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(rows.join('\n'));
}

/** Raises kernel.pid_max so that `threads` more pids fit (with room for the rest of the machine); returns the undo. */
function raisePidMax(threads: number): () => void {
  const file = '/proc/sys/kernel/pid_max';
  const was = Number(readFileSync(file, 'utf8'));
  const need = 2 * (threads + systemThreads());
  if (need <= was) return () => {};
  writeFileSync(file, String(need));
  console.error(`bench: kernel.pid_max ${was} -> ${need} for the run`);
  return () => {
    writeFileSync(file, String(was));
    console.error(`bench: kernel.pid_max back to ${was}`);
  };
}

await main();
