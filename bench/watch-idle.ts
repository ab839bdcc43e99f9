/**
 * `loadmon watch` idle, with the native waiter and without it (issue 14
 * part 2): `watch --source procfs --threshold 1000` and `--source bpf`, each
 * with the waiter (default) and with LOADMON_WAITER=off (Node's phase-locked
 * polling, the "before"), all four at the same time next to the peer, a C
 * loop that sleeps 10 ms with nanosleep (the seed's polling rate). CPU of each
 * process and its children (the waiter, the eBPF helper, the detail reader),
 * all threads, from schedstat, after a warm-up; BENCH_IDLE_RUNS repeats.
 *
 * Then the detection latency: the waiter (dist/native/loadmon-wait) next to
 * a C poller that preads /proc/loadavg every 1 ms; per update, the waiter's
 * t_ms minus the poller's first sight of the change (both CLOCK_MONOTONIC;
 * the poller sees an update within ~1 ms of it, so this is the latency to
 * within that).
 *
 * node --import tsx bench/watch-idle.ts (needs npm run build: it runs dist/).
 * BENCH_IDLE_SECONDS=60, BENCH_IDLE_WARMUP=60, BENCH_IDLE_RUNS=1, BENCH_LATENCY_SECONDS=60;
 * BENCH_COMPARE=DIR adds the same two watches of a build of older code in DIR
 * (docs/benchmarks.md says how to make one): the "before" of the eBPF
 * tracking's pace too, which LOADMON_WAITER=off does not turn back.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BUILT_WAITER } from '../src/trigger/waiter.ts';
import { CLI, cpuNs, hostLine, median, systemThreads } from './lib.ts';

const SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? '60');
/**
 * The steady state: with seven subjects starting at once, each Node process
 * keeps doing start-up work (V8's compiler and GC threads, the first
 * samples) for well over 15 s; measured per 60 s window from 15 s on,
 * `watch --source bpf` took 0.053% in the first window and 0.016-0.018% after.
 */
const WARMUP_S = Number(process.env.BENCH_IDLE_WARMUP ?? '60');
const RUNS = Number(process.env.BENCH_IDLE_RUNS ?? '1');
const LATENCY_S = Number(process.env.BENCH_LATENCY_SECONDS ?? '60');
const COMPARE = process.env.BENCH_COMPARE || null;

/** The peer (`sleep10`) and the 1 ms poller (`poll1`): one file, argv[1] picks. */
const PEERS_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

int main(int argc, char **argv)
{
	char buf[128], last[128] = "";
	struct timespec now;
	int fd;
	ssize_t n;
	char *end;

	if (argc > 1 && strcmp(argv[1], "poll1") == 0) {
		fd = open("/proc/loadavg", O_RDONLY);
		setvbuf(stdout, NULL, _IOLBF, 0);
		for (;;) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (n > 0) {
				buf[n] = 0;
				end = strchr(buf, ' ');
				end = end ? strchr(end + 1, ' ') : NULL;
				end = end ? strchr(end + 1, ' ') : NULL;
				if (end)
					*end = 0;
				if (last[0] && strcmp(buf, last) != 0)
					printf("%s %.3f\n", buf, now.tv_sec * 1e3 + now.tv_nsec / 1e6);
				strcpy(last, buf);
			}
			sleep_ms(1);
		}
	}
	for (;;)
		sleep_ms(10);
}
`;

interface Subject {
  label: string;
  start(): ChildProcess;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function watchSubject(
  source: string,
  waiter: boolean,
  cli = CLI,
  what = waiter ? 'native waiter' : 'LOADMON_WAITER=off (Node polls)',
): Subject {
  const env = { ...process.env, LOADMON_WAITER: waiter ? '' : 'off' };
  return {
    label: `\`watch --source ${source} --threshold 1000\`, ${what}`,
    start: () => spawn(process.execPath, [cli, 'watch', '--source', source, '--threshold', '1000', '--quiet'], { stdio: 'ignore', env }),
  };
}

/** All subjects at once; % of one core of each over the same SECONDS. */
async function idleRun(subjects: Subject[]): Promise<number[]> {
  const children = subjects.map((s) => s.start());
  try {
    await sleep(WARMUP_S * 1000);
    const c0 = children.map((c) => cpuNs(c.pid!));
    const t0 = process.hrtime.bigint();
    await sleep(SECONDS * 1000);
    const c1 = children.map((c) => cpuNs(c.pid!));
    const wall = Number(process.hrtime.bigint() - t0);
    for (const c of children) if (c.exitCode !== null) throw new Error(`a subject exited early (${c.spawnargs.join(' ')})`);
    return c1.map((c, i) => ((c - c0[i]!) / wall) * 100);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  }
}

/** Per update: waiter t_ms - the 1 ms poller's first sight (ms). */
async function latency(peer: string): Promise<number[]> {
  const poller = spawn(peer, ['poll1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const waiter = spawn(BUILT_WAITER, ['--interval', '10'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const seen = new Map<string, number>();
  const lat: number[] = [];
  const waiterSaw: Array<[string, number]> = [];
  poller.stdout!.setEncoding('latin1');
  waiter.stdout!.setEncoding('latin1');
  const lines = (s: NodeJS.ReadableStream, on: (l: string) => void): void => {
    let part = '';
    s.on('data', (d: string) => {
      const all = (part + d).split('\n');
      part = all.pop()!;
      for (const l of all) on(l);
    });
  };
  lines(poller.stdout!, (l) => {
    const m = /^(\S+ \S+ \S+) ([\d.]+)$/.exec(l);
    if (m && !seen.has(m[1]!)) seen.set(m[1]!, Number(m[2]));
  });
  lines(waiter.stdout!, (l) => {
    const m = /^load (\S+ \S+ \S+) ([\d.]+)$/.exec(l);
    if (m) waiterSaw.push([m[1]!, Number(m[2])]);
  });
  await sleep(LATENCY_S * 1000);
  waiter.stdin!.end('quit\n');
  poller.kill('SIGTERM');
  await sleep(200);
  for (const [loads, t] of waiterSaw) {
    const p = seen.get(loads);
    if (p !== undefined) lat.push(t - p);
  }
  return lat;
}

/**
 * The first change the waiter sees teaches it the phase: until then it reads
 * every 10 ms for 6 s, then every 2.5 s, so on an idle machine whose averages
 * print the same for a while that first one can be seconds late. Said apart;
 * the figures are the phase-locked ones after it.
 */
function latencyText(lat: number[]): string {
  if (lat.length === 0) return 'no update seen by both';
  const ms = (x: number): string => `${x.toFixed(2)} ms`;
  const [first, ...locked] = lat as [number, ...number[]];
  const then =
    locked.length === 0
      ? 'no update after it'
      : `then ${locked.length} updates, median ${ms(median(locked))}, max ${ms(Math.max(...locked))}, min ${ms(Math.min(...locked))}`;
  return `the first update after start (the phase still unknown) ${ms(first)}; ${then}`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-bench-idle-'));
  try {
    writeFileSync(join(dir, 'peers.c'), PEERS_C);
    const peer = join(dir, 'peers');
    execFileSync('gcc', ['-O2', '-o', peer, join(dir, 'peers.c')]);
    const subjects: Subject[] = [
      { label: 'C loop, `nanosleep` 10 ms (the seed’s polling rate), the peer', start: () => spawn(peer, [], { stdio: 'ignore' }) },
      watchSubject('procfs', true),
      watchSubject('procfs', false),
      watchSubject('bpf', true),
      watchSubject('bpf', false),
    ];
    if (COMPARE) {
      const old = join(COMPARE, 'dist', 'cli', 'main.js');
      subjects.push(
        watchSubject('procfs', true, old, `older build (${COMPARE}), as it runs by default`),
        watchSubject('bpf', true, old, `older build (${COMPARE}), as it runs by default`),
      );
    }
    const loadBefore = readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
    // The eBPF tracking's pass walks every thread: its share of the idle cost grows with them.
    const threads = systemThreads();
    const runs: number[][] = [];
    for (let r = 0; r < RUNS; r++) {
      runs.push(await idleRun(subjects));
      console.error(`bench: idle run ${r + 1}: ${runs[r]!.map((x) => x.toFixed(4)).join(' ')}`);
    }
    const lat = await latency(peer);
    console.error(`bench: latency (ms): ${lat.map((x) => x.toFixed(2)).join(' ')}`);
    const peerPct = runs.map((r) => r[0]!);
    const out = [
      `# loadmon watch idle benchmark ${new Date().toISOString()}`,
      '',
      hostLine(),
      `loadavg at start ${loadBefore}, ${threads} threads alive; ` +
        `${SECONDS} s measured after ${WARMUP_S} s of warm-up, all subjects at once; ${RUNS} run(s)`,
      '',
      `| subject | % of one core, process + children (each run) | × the peer |`,
      '|---|---:|---:|',
      ...subjects.map((s, i) => {
        const xs = runs.map((r) => r[i]!);
        const ratio = xs.map((x, k) => (x / peerPct[k]!).toFixed(2)).join(', ');
        return `| ${s.label} | ${xs.map((x) => `${x.toFixed(4)}%`).join(', ')} | ${ratio} |`;
      }),
      '',
      `Detection latency, native waiter (--interval 10ms) vs a 1 ms pread poller, ${LATENCY_S} s: ${latencyText(lat)}`,
    ];
    console.log(out.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
