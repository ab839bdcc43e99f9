/**
 * eBPF collector benchmark (npm run bench:bpf, also part of npm run bench):
 * the cost of one snapshot pass per 1,000 threads, bpf vs procfs, measured
 * in the same run on the same threads, at 5,000 and 10,000 threads alive.
 *
 *  - bpf walk: the kernel's task-iterator pass as the helper times it
 *    (bpf_iter_create to the last read), R/D filtering and stacks included;
 *  - bpf capture: the whole BpfCollector.capture() in Node (pipe round trip,
 *    kernel symbolisation, cgroups), warm caches, no profile window;
 *  - procfs capture: ProcfsCollector.capture() with inline detail reads.
 *
 * BENCH_BPF_SIZES=5000,10000 and BENCH_RUNS=11 adjust the run.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { BpfCollector } from '../src/collect/bpf.ts';
import { ProcfsCollector } from '../src/collect/procfs.ts';
import { buildLoadgen } from '../src/workload/helper.ts';
import { Workload } from '../src/workload/workload.ts';
import { median, systemThreads } from './lib.ts';

const SIZES = (process.env.BENCH_BPF_SIZES ?? '5000,10000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? '11');

const rows = [
  '| threads alive | bpf walk, ms per 1,000 threads | bpf capture (Node, end to end), ms per 1,000 | procfs capture, ms per 1,000 | procfs / bpf walk | procfs / bpf capture |',
  '|---:|---:|---:|---:|---:|---:|',
];
const loadgen = buildLoadgen();
for (const size of SIZES) {
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

const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
console.log(
  [
    `# loadmon bpf benchmark run ${new Date().toISOString()}`,
    '',
    `host: ${execFileSync('uname', ['-srm']).toString().trim()}, ${cpuinfo.match(/model name\s*:\s*(.*)/)?.[1] ?? '?'}, ${
      cpuinfo.match(/^processor/gm)?.length ?? '?'
    } CPUs, node ${process.version}, ${RUNS} runs per figure (medians)`,
    '',
    ...rows,
  ].join('\n'),
);
