/**
 * `loadmon top --interval 1s` next to procps `top -d 1` (issue 14 part 1
 * target: within 2x of top's CPU), each in its own pseudo-terminal (util-linux
 * `script`, 80x24), all at the same time so they see the same machine, with
 * at least BENCH_TOP_THREADS (default 5000) threads alive (the loadgen's
 * sleeping pthreads make up the difference). loadmon runs twice: `--source
 * auto` (the eBPF collector here, as top picks it on a live /proc) and
 * `--source procfs` (a scan of every thread each second: the fallback's cost).
 * CPU: schedstat of every thread of the viewer and its children (the eBPF
 * helper), not `script` (the terminal, the same for all); a warm-up first
 * covers the start (the helper's load, kallsyms). Rounds repeat the window.
 * A fourth subject is the floor of any exact procfs view: bench/helpers/
 * stat-floor.c reads every thread's stat once a second with pread on kept
 * file descriptors and does nothing else, so what the kernel charges for
 * generating the files is told apart from what loadmon adds.
 *
 * node --import tsx bench/top.ts (needs npm run build: it runs dist/).
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildLoadgen } from '../src/workload/helper.ts';
import { Workload } from '../src/workload/workload.ts';
import { CLI, cpuNs, hostLine, median, ROOT, systemThreads } from './lib.ts';

const THREADS = Number(process.env.BENCH_TOP_THREADS ?? '5000');
const WARMUP_S = Number(process.env.BENCH_TOP_WARMUP ?? '10');
const MEASURE_S = Number(process.env.BENCH_TOP_SECONDS ?? '30');
const ROUNDS = Number(process.env.BENCH_TOP_ROUNDS ?? '2');

interface Viewer {
  label: string;
  script: ChildProcess;
  /** The viewer itself (the child `script` started), found once it runs. */
  pid: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function childOf(pid: number): number | null {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : null;
  } catch {
    return null;
  }
}

async function startViewer(label: string, command: string): Promise<Viewer> {
  // exec: the shell becomes the viewer, so script's child is the process measured.
  const script = spawn('script', ['-qfec', `stty cols 80 rows 24; exec ${command}`, '/dev/null'], {
    stdio: ['pipe', 'ignore', 'ignore'],
    env: { ...process.env, TERM: 'xterm' },
  });
  for (let i = 0; i < 100; i++) {
    const pid = childOf(script.pid!);
    if (pid !== null && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sh') return { label, script, pid };
    await sleep(50);
  }
  script.kill('SIGKILL');
  throw new Error(`${label} did not start in a pty`);
}

async function stopViewer(v: Viewer): Promise<void> {
  const exited = new Promise((r) => v.script.once('exit', r));
  v.script.stdin!.write('q');
  const t = setTimeout(() => v.script.kill('SIGTERM'), 5000);
  await exited;
  clearTimeout(t);
}

/** CPU of each viewer, % of one core, and the threads alive at the end (other sessions' workloads come and go). */
async function round(floor: string): Promise<{ pct: number[]; threadsAtEnd: number }> {
  const viewers = [
    await startViewer('loadmon top --interval 1s (auto: bpf)', `${process.execPath} ${CLI} top --interval 1s --threshold 1000`),
    await startViewer(
      'loadmon top --interval 1s --source procfs',
      `${process.execPath} ${CLI} top --interval 1s --source procfs --threshold 1000`,
    ),
    await startViewer('top -d 1', 'top -d 1'),
    await startViewer('stat floor', floor),
  ];
  try {
    await sleep(WARMUP_S * 1000);
    const c0 = viewers.map((v) => cpuNs(v.pid));
    const t0 = process.hrtime.bigint();
    await sleep(MEASURE_S * 1000);
    const c1 = viewers.map((v) => cpuNs(v.pid));
    const wall = Number(process.hrtime.bigint() - t0);
    return { pct: viewers.map((_, i) => ((c1[i]! - c0[i]!) / wall) * 100), threadsAtEnd: systemThreads() };
  } finally {
    for (const v of viewers) await stopViewer(v);
  }
}

async function main(): Promise<void> {
  const work = new Workload(buildLoadgen());
  const labels = [
    'loadmon top --interval 1s (auto: bpf here)',
    'loadmon top --interval 1s --source procfs',
    'top -d 1',
    'C floor of an exact procfs view: every thread’s `stat` once a second, `pread` on kept fds (bench/helpers/stat-floor.c)',
  ];
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-bench-top-'));
  const floor = join(dir, 'stat-floor');
  execFileSync('gcc', ['-O2', '-o', floor, join(ROOT, 'bench', 'helpers', 'stat-floor.c')]);
  const runs: number[][] = [];
  const ends: number[] = [];
  let threads = 0;
  try {
    for (let left = Math.max(0, THREADS - systemThreads()); left > 0; left -= 1000) {
      await work.threads(Math.min(1000, left), ROUNDS * (WARMUP_S + MEASURE_S + 30));
    }
    await sleep(1000);
    threads = systemThreads();
    for (let r = 0; r < ROUNDS; r++) {
      const { pct, threadsAtEnd } = await round(floor);
      console.error(`bench: round ${r + 1}: ${pct.map((p, i) => `${labels[i]} ${p.toFixed(2)}%`).join(', ')}; ${threadsAtEnd} threads`);
      runs.push(pct);
      ends.push(threadsAtEnd);
    }
  } finally {
    await work.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const top = median(runs.map((x) => x[2]!));
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const rows = [
    `# loadmon top benchmark ${new Date().toISOString()}`,
    '',
    hostLine(),
    '',
    `${threads} threads alive at the start, ${ends.join(', ')} at the end of each round; load ${load};` +
      ` each viewer in its own 80x24 pty, all at once; ${WARMUP_S} s warm-up, ${MEASURE_S} s measured, ${ROUNDS} rounds (median).`,
    '',
    '| viewer | CPU, % of one core (median) | each round | vs top -d 1 |',
    '|---|---:|---|---:|',
    ...labels.map((label, i) => {
      const xs = runs.map((x) => x[i]!);
      const m = median(xs);
      return `| ${label} | ${m.toFixed(2)}% | ${xs.map((x) => `${x.toFixed(2)}%`).join(', ')} | ${(m / top).toFixed(2)}x |`;
    }),
  ];
  console.log(rows.join('\n'));
}

await main();
