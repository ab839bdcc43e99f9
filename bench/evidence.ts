/**
 * Benchmark of EvidenceSampler.sample() (npm run bench, or alone with
 * `node --import tsx bench/evidence.ts`; root, v1 memory/blkio/cpu
 * hierarchies mounted): milliseconds per call with 0, 10 and 50 limited
 * cgroups (each with one sleeping process, limits of all three kinds), and
 * the same reads done by a real peer in the same run: one `cat` process
 * reading the very files the sampler reads at every call (diskstats, vmstat,
 * each pid's cgroup file, each cgroup's counter files; the limit files that
 * sample() re-reads every 10th call are left out), wall time of the spawn.
 * The ratio says what the sampler costs against the cheapest external tool;
 * at one call per second, ms per call / 10 is the % of a core.
 *
 * BENCH_EVIDENCE_CALLS=300 (calls per size), BENCH_EVIDENCE_PEER=30 (cat runs).
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { EvidenceSampler } from '../src/collect/evidence.ts';
import { parseCgroupMounts } from '../src/procfs/cgroup-limits.ts';
import { median } from './lib.ts';

const CALLS = Number(process.env.BENCH_EVIDENCE_CALLS ?? '300');
const PEER_RUNS = Number(process.env.BENCH_EVIDENCE_PEER ?? '30');
const SIZES = [0, 10, 50];
const TAG = `loadmon-bench-ev-${process.pid}`;

const MOUNTS = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
function v1(controller: string): string {
  const m = MOUNTS.find((x) => x.version === 1 && x.root === '/' && x.controllers.includes(controller));
  if (!m) throw new Error(`bench/evidence: no v1 ${controller} hierarchy mounted (the bench needs v1 memory, blkio, cpu)`);
  return m.mountPoint;
}

/** The disk of / as MAJ:MIN (for a blkio limit that is never reached). */
function rootDisk(): string {
  const dev = statSync('/').dev;
  return `${(dev >> 8) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
}

interface Group {
  dirs: string[];
  proc: ChildProcess;
}

/** The counter files sample() reads every call for a cgroup with these limits (limits: every 10th call). */
const MEM_FILES = ['memory.usage_in_bytes', 'memory.failcnt'];
const IO_FILES = ['blkio.throttle.io_service_bytes'];
const CPU_FILES = ['cpu.stat'];

function makeGroup(i: number, disk: string): Group {
  const [mem, io, cpu] = [v1('memory'), v1('blkio'), v1('cpu')].map((root) => join(root, `${TAG}-${i}`)) as [string, string, string];
  for (const d of [mem, io, cpu]) mkdirSync(d);
  writeFileSync(join(mem, 'memory.limit_in_bytes'), String(2 ** 30));
  writeFileSync(join(io, 'blkio.throttle.write_bps_device'), `${disk} ${100 * 2 ** 20}`);
  writeFileSync(join(cpu, 'cpu.cfs_quota_us'), '50000');
  const enter = [mem, io, cpu].map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
  const proc = spawn('sh', ['-c', `${enter} && exec sleep 600`], { stdio: 'ignore' });
  return { dirs: [mem, io, cpu], proc };
}

async function removeGroup(g: Group): Promise<void> {
  g.proc.kill('SIGKILL');
  await new Promise((r) => (g.proc.exitCode !== null || g.proc.signalCode !== null ? r(null) : g.proc.once('exit', r)));
  for (const d of g.dirs) {
    for (let k = 0; k < 100 && existsSync(d); k++) {
      try {
        rmdirSync(d);
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/** Waits until every group's process has moved itself into its cgroups. */
async function settled(groups: Group[]): Promise<void> {
  for (let k = 0; k < 200; k++) {
    const ok = groups.every((g) => readFileSync(join(g.dirs[2]!, 'cgroup.procs'), 'utf8').trim() !== '');
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('bench/evidence: workload processes did not enter their cgroups');
}

function samplerMs(pids: number[]): number {
  const s = new EvidenceSampler();
  let now = Date.now();
  s.sample(now, pids);
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    now += 1000; // a recorder's 1 s period: limits are re-read every 10th call, as in real use
    const t0 = performance.now();
    const e = s.sample(now, pids);
    times.push(performance.now() - t0);
    if (pids.length > 0 && e!.cgroups.length < pids.length * 3)
      throw new Error(`bench/evidence: saw ${e!.cgroups.length} limits for ${pids.length} cgroups`);
  }
  return median(times);
}

function peerMs(groups: Group[]): number {
  const files = ['/proc/diskstats', '/proc/vmstat'];
  for (const g of groups) {
    files.push(`/proc/${g.proc.pid}/cgroup`);
    const [mem, io, cpu] = g.dirs as [string, string, string];
    files.push(...MEM_FILES.map((f) => join(mem, f)), ...IO_FILES.map((f) => join(io, f)), ...CPU_FILES.map((f) => join(cpu, f)));
  }
  const times: number[] = [];
  for (let i = 0; i < PEER_RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync('cat', files, { stdio: ['ignore', 'ignore', 'pipe'] });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`bench/evidence: cat failed: ${r.stderr}`);
  }
  return median(times);
}

const groups: Group[] = [];

/** Ctrl-C, a kill or a closed pipe (`| head`) must not leave cgroups and sleeping processes behind. */
function cleanupOnExit(): void {
  const bail = (): void => {
    void Promise.all(groups.map(removeGroup)).finally(() => process.exit(1));
  };
  process.once('SIGINT', bail);
  process.once('SIGTERM', bail);
  process.stdout.on('error', bail);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/evidence: run as root (it creates cgroups)');
  cleanupOnExit();
  const disk = rootDisk();
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `evidence sampler, ${CALLS} calls per size (median ms per call) vs one \`cat\` of the same files (median of ${PEER_RUNS}); ` +
      `loadavg ${load} at start`,
  );
  console.log('| limited cgroups | files per call (steady state) | sample() ms | cat ms | ratio | % of a core at 1/s |');
  console.log('|---|---|---|---|---|---|');
  try {
    for (const size of SIZES) {
      while (groups.length < size) groups.push(makeGroup(groups.length, disk));
      await settled(groups);
      const pids = groups.map((g) => g.proc.pid!);
      const ours = samplerMs(pids);
      const peer = peerMs(groups);
      const files = 2 + size * (1 + MEM_FILES.length + IO_FILES.length + CPU_FILES.length);
      console.log(
        `| ${size} | ~${files} | ${ours.toFixed(3)} | ${peer.toFixed(3)} | ${(ours / peer).toFixed(2)} | ${(ours / 10).toFixed(3)}% |`,
      );
    }
  } finally {
    await Promise.all(groups.splice(0).map(removeGroup));
  }
}

await main();
