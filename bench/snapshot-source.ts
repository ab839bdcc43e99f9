/**
 * Which source should a one-shot `loadmon snapshot` use by default? (issue 11, item 9)
 *
 * At BENCH_SNAPSHOT_THREADS threads alive (default 5,000: sleeping pthreads
 * of `loadgen threads` processes, plus 4 vfork-blocked D tasks and a busy
 * loop so that stacks are read), alternating in one run, BENCH_RUNS times
 * each (default 11), whole processes as a user starts them:
 *
 *  - `loadmon snapshot --json` (the default source, auto);
 *  - `loadmon snapshot --json --source procfs`;
 *  - `loadmon snapshot --json --source bpf --profile 0` (what auto used to
 *    pick as root with the helper built; skipped when bpf cannot work here);
 *  - `ps -eLo pid,tid,stat,wchan,comm`, the peer every figure is divided by.
 *
 * Then, in this process, where the bpf source's extra time goes: starting
 * the helper (loading and verifying its programs) and the first capture
 * (which reads and parses /proc/kallsyms), against a second capture.
 * Prints a markdown table on stdout (progress on stderr).
 */

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { bpfUnavailable } from '../src/bpf/availability.ts';
import { BpfCollector } from '../src/collect/bpf.ts';
import { buildLoadgen } from '../src/workload/helper.ts';
import { Workload } from '../src/workload/workload.ts';
import { CLI, hostLine, median, systemThreads } from './lib.ts';

const THREADS = Number(process.env.BENCH_SNAPSHOT_THREADS ?? '5000');
const RUNS = Number(process.env.BENCH_RUNS ?? '11');
const PS = ['-eLo', 'pid,tid,stat,wchan,comm'];

interface Variant {
  label: string;
  cmd: string;
  args: string[];
}

function timeCommand(v: Variant): { ms: number; source: string | null } {
  const t = performance.now();
  const r = spawnSync(v.cmd, v.args, { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${v.cmd} ${v.args.join(' ')} failed with ${r.status}`);
  return { ms, source: /"source":\s*"(\w+)"/.exec(r.stdout)?.[1] ?? null };
}

async function startLoad(work: Workload): Promise<void> {
  const want = Math.max(0, THREADS - systemThreads());
  // Processes of at most 1,000 threads, as bench/run.ts does.
  for (let left = want; left > 0; left -= 1000) await work.threads(Math.min(1000, left), 600);
  for (let i = 0; i < 4; i++) await work.vfork(600);
  await work.spin(600);
  await new Promise((r) => setTimeout(r, 500));
}

function variants(bpfWhyNot: string | null): Variant[] {
  const node = process.execPath;
  const list: Variant[] = [
    { label: '`loadmon snapshot --json` (default: auto)', cmd: node, args: [CLI, 'snapshot', '--json'] },
    { label: '`loadmon snapshot --json --source procfs`', cmd: node, args: [CLI, 'snapshot', '--json', '--source', 'procfs'] },
  ];
  if (bpfWhyNot === null) {
    list.push({
      label: '`loadmon snapshot --json --source bpf --profile 0`',
      cmd: node,
      args: [CLI, 'snapshot', '--json', '--source', 'bpf', '--profile', '0'],
    });
  }
  list.push({ label: '`ps -eLo pid,tid,stat,wchan,comm`', cmd: 'ps', args: PS });
  return list;
}

async function processTable(bpfWhyNot: string | null): Promise<string[]> {
  const vs = variants(bpfWhyNot);
  const times = vs.map(() => [] as number[]);
  const sources = vs.map(() => new Set<string>());
  for (let i = 0; i < RUNS; i++) {
    vs.forEach((v, k) => {
      const r = timeCommand(v);
      times[k]!.push(r.ms);
      if (r.source) sources[k]!.add(r.source);
    });
  }
  const ps = median(times[times.length - 1]!);
  const rows = ['| command | source used | wall time, ms (median) | / ps, same run |', '|---|---|---:|---:|'];
  vs.forEach((v, k) => {
    const m = median(times[k]!);
    rows.push(`| ${v.label} | ${[...sources[k]!].join(', ') || '-'} | ${m.toFixed(1)} | ${(m / ps).toFixed(2)}x |`);
  });
  return rows;
}

/** The bpf source's own start-up, measured in this process (Node's start is not in it). */
async function bpfStartup(): Promise<string[]> {
  const starts: number[] = [];
  const firsts: number[] = [];
  const seconds: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 5); i++) {
    const c = new BpfCollector({ profileMs: 0 });
    try {
      const t0 = performance.now();
      await c.start();
      const t1 = performance.now();
      await c.capture({ depth: 20 });
      const t2 = performance.now();
      await c.capture({ depth: 20 });
      const t3 = performance.now();
      starts.push(t1 - t0);
      firsts.push(t2 - t1);
      seconds.push(t3 - t2);
    } finally {
      c.close();
    }
  }
  return [
    '| bpf source, in process | ms (median) |',
    '|---|---:|',
    `| helper start (load + verify + attach the programs) | ${median(starts).toFixed(1)} |`,
    `| first capture (reads and parses /proc/kallsyms, cgroup maps) | ${median(firsts).toFixed(1)} |`,
    `| second capture, same collector | ${median(seconds).toFixed(1)} |`,
  ];
}

const bpfWhyNot = bpfUnavailable();
const work = new Workload(buildLoadgen());
try {
  await startLoad(work);
  const alive = systemThreads();
  console.error(`bench: ${alive} threads alive, ${RUNS} runs per command${bpfWhyNot ? `; bpf skipped: ${bpfWhyNot}` : ''}`);
  const out = [
    `# snapshot source benchmark ${new Date().toISOString()}`,
    '',
    `${hostLine()}, uid ${process.getuid?.()}, ` + `${alive} threads alive, load1 ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
    '',
    ...(await processTable(bpfWhyNot)),
  ];
  if (bpfWhyNot === null) out.push('', ...(await bpfStartup()));
  console.log(out.join('\n'));
} finally {
  await work.stop();
}
