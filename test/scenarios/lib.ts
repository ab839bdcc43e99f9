/**
 * Runs a diagnosis scenario: builds the C workloads (scenload.c) with gcc
 * into a temporary directory, sets up the scenario's cgroups, starts
 * `loadmon record` with every requested source at once (one store each),
 * then the workload, lets it run, stops the recorders with SIGTERM, stops
 * the workload, removes the cgroups and reads `report --format json` of
 * each store.
 *
 * Nothing is left behind: every process started here is killed by its id
 * (the workloads by their own process group), cgroups are removed once
 * their tasks are gone, files are deleted; in finally blocks and, through
 * one registry, on SIGINT/SIGTERM. Every wait has a deadline.
 */

import { type ChildProcess, execFileSync, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Report } from '../../src/model/report.ts';
import { type CgroupMount, cgroupPathOf, countRD, load1 } from './system.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const SOURCE_C = join(import.meta.dirname, 'scenload.c');

export type Source = 'procfs' | 'bpf';

// ---------------------------------------------------------------- cleanup

/** Synchronous, idempotent undo steps, run in finally blocks and on signals. */
const undo = new Map<number, () => void>();
let undoSeq = 0;
let signalsHooked = false;

function onUndo(fn: () => void): () => void {
  const id = ++undoSeq;
  let done = false;
  const run = (): void => {
    if (done) return;
    done = true;
    undo.delete(id);
    fn();
  };
  undo.set(id, run);
  hookSignals();
  return run;
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      // Newest first: processes before the cgroups and directories they live in.
      for (const fn of [...undo.values()].reverse()) {
        try {
          fn();
        } catch (err) {
          process.stderr.write(`scenario cleanup: ${(err as Error).message}\n`);
        }
      }
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- session

/** One temporary directory under /var/tmp (a real disk), the built workload, the page-cache file. */
export class Session {
  readonly dir: string;
  readonly bin: string;
  private bigFile: string | null = null;
  readonly close: () => void;

  constructor(parent = '/var/tmp') {
    this.dir = mkdtempSync(join(parent, 'loadmon-scenario-'));
    this.close = onUndo(() => rmSync(this.dir, { recursive: true, force: true }));
    // The binary's name is not the comm (the workload sets scen-<mode>), but keep it telling.
    this.bin = join(this.dir, 'scenload');
    const r = spawnSync('gcc', ['-O2', '-Wall', '-pthread', '-o', this.bin, SOURCE_C], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      this.close();
      throw new Error(`cannot build ${SOURCE_C} with gcc: ${r.error?.message ?? r.stderr.trim()}`);
    }
  }

  /** A file of `mib` MiB written with O_DIRECT (none of it cached), made once per session. */
  pageCacheFile(mib: number): string {
    if (this.bigFile) return this.bigFile;
    const f = join(this.dir, `pagecache-${mib}m`);
    execFileSync(this.bin, ['mkfile', f, String(mib)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
    this.bigFile = f;
    return f;
  }
}

// ---------------------------------------------------------------- cgroups

export interface CgroupSpec {
  mount: CgroupMount;
  /** Files written after mkdir, in order: [name, content]. */
  settings: Array<[string, string]>;
  /** v1: the controller whose line of /proc/PID/cgroup names it; null for v2. */
  controller: string | null;
}

export interface Cgroup {
  dir: string;
  procs: string;
  /** The path /proc/PID/cgroup is expected to print for it. */
  path: string;
  controller: string | null;
  /** Removes it (idempotent), once its tasks are gone. */
  remove: () => void;
}

function tasksOf(procs: string): number[] {
  try {
    return readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Removes a cgroup once its tasks are gone (bounded: 10 s), killing any task still in it. */
function removeCgroup(cg: Omit<Cgroup, 'remove'>): void {
  if (!existsSync(cg.dir)) return;
  const end = Date.now() + 10_000;
  for (;;) {
    const left = tasksOf(cg.procs);
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    try {
      rmdirSync(cg.dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (Date.now() > end) throw new Error(`cannot remove cgroup ${cg.dir} (${code}; tasks ${left.join(' ') || 'none'})`);
    }
    sleepSync(50);
  }
}

export function createCgroup(spec: CgroupSpec, name: string): Cgroup {
  const dir = join(spec.mount.dir, name);
  mkdirSync(dir);
  const rel = spec.mount.root === '/' ? `/${name}` : `${spec.mount.root}/${name}`;
  const base = { dir, procs: join(dir, 'cgroup.procs'), path: rel, controller: spec.controller };
  const cg: Cgroup = { ...base, remove: onUndo(() => removeCgroup(base)) };
  try {
    for (const [file, value] of spec.settings) writeFileSync(join(dir, file), value);
  } catch (err) {
    cg.remove();
    throw new Error(`setting up cgroup ${dir}: ${(err as Error).message}`);
  }
  return cg;
}

// ---------------------------------------------------------------- processes

/** Reads stdout lines until one matches, bounded. */
function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, ms: number, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const s = child[stream]!;
    const done = (err: Error | null, m?: RegExpExecArray): void => {
      clearTimeout(timer);
      s.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    };
    const onData = (d: Buffer): void => {
      buf = (buf + d.toString()).slice(-65536);
      const m = re.exec(buf);
      if (m) done(null, m);
    };
    const onExit = (code: number | null): void =>
      done(new Error(`${what} exited (${code}) before it was ready: ${buf.trim().slice(-500)}`));
    const timer = setTimeout(() => done(new Error(`${what} not ready after ${ms} ms: ${buf.trim().slice(-500)}`)), ms);
    s.on('data', onData);
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

async function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const ok = await Promise.race([exited(child).then(() => true as const), t]);
  clearTimeout(timer);
  return ok;
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    /* the group is gone */
  }
}

export interface RunningWorkload {
  pid: number;
  /** The shared file's inode (dsync-shared), else 0. */
  inode: number;
  child: ChildProcess;
  stop: () => Promise<void>;
}

/** Starts scenload (its own process group: teardown kills all it forked), waits for "ready". */
export async function startWorkload(session: Session, args: string[], cgroups: Cgroup[]): Promise<RunningWorkload> {
  const joins = cgroups.flatMap((c) => ['-g', c.procs]);
  const child = spawn(session.bin, [...joins, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid!;
  const kill = onUndo(() => killGroup(pid, 'SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4096)));
  const stop = async (): Promise<void> => {
    killGroup(pid, 'SIGTERM');
    if (!(await exitWithin(child, 5000))) killGroup(pid, 'SIGKILL');
    await exitWithin(child, 5000);
    kill();
  };
  try {
    const m = await waitForLine(child, 'stdout', /^ready (\d+) (\d+)$/m, 15_000, `scenload ${args.join(' ')}`);
    return { pid, inode: Number(m[2]), child, stop };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}${stderr ? ` (stderr: ${stderr.trim()})` : ''}`);
  }
}

// ---------------------------------------------------------------- recorders

export interface Recorder {
  source: Source;
  db: string;
  child: ChildProcess;
  stderr: () => string;
  /** SIGKILL unless it has exited (idempotent). */
  kill: () => void;
}

export async function startRecorder(dir: string, source: Source, threshold: number): Promise<Recorder> {
  const db = join(dir, `${source}.db`);
  const args = ['record', '--db', db, '--source', source, '--threshold', String(threshold), '--cooldown', '5s', '--sample', '1s'];
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const kill = onUndo(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-65536)));
  const rec = { source, db, child, stderr: () => err, kill };
  try {
    await waitForLine(child, 'stderr', /recording into /, 30_000, `loadmon record --source ${source}`);
  } catch (e) {
    kill();
    throw e;
  }
  return rec;
}

/** SIGTERM, then the exit status (SIGKILL and an error after 20 s). */
async function stopRecorder(r: Recorder): Promise<void> {
  r.child.kill('SIGTERM');
  if (!(await exitWithin(r.child, 20_000))) {
    r.kill();
    throw new Error(`loadmon record --source ${r.source} did not stop within 20 s of SIGTERM`);
  }
  r.kill();
  if (r.child.exitCode !== 0)
    throw new Error(`loadmon record --source ${r.source} exited ${r.child.exitCode}: ${r.stderr().trim().slice(-800)}`);
}

/** A dist/ caught half-rebuilt (tsc writing while we load it) fails with a module-linking error. */
const HALF_BUILT = /does not provide an export named|ERR_MODULE_NOT_FOUND|Cannot find module/;

export function readReport(db: string): Report {
  let r = runReport(db);
  // Only a linking error is retried (once, after tsc has had time to finish): a real failure is not.
  if (r.status !== 0 && HALF_BUILT.test(r.stderr)) {
    sleepSync(10_000);
    r = runReport(db);
  }
  if (r.status !== 0) throw new Error(`loadmon report --db ${db} failed (${r.status ?? r.signal}): ${r.stderr.trim().slice(-800)}`);
  return JSON.parse(r.stdout) as Report;
}

function runReport(db: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, 'report', '--db', db, '--format', 'json'], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 << 20,
  });
}

// ---------------------------------------------------------------- a run

export interface WorkloadSpec {
  args: string[];
  /** Indexes into the scenario's cgroups that this workload joins. */
  cgroups?: number[];
}

export interface Facts {
  /** pid of each workload process, in the order of the specs. */
  pids: number[];
  inode: number;
  /** Per cgroup spec: the path /proc/PID/cgroup printed for the workload. */
  cgroupPaths: string[];
  load1AtStart: number;
  /** Mean R and D threads of everything else on the machine over the second before the workload started. */
  background: { r: number; d: number };
  durationS: number;
}

export interface RunPlan {
  name: string;
  cgroups: CgroupSpec[];
  /** The workloads' scenload arguments; `dir` is this run's own directory (deleted after it). */
  workloads: (ctx: { session: Session; dir: string }, durationS: number) => WorkloadSpec[];
}

export interface RunResult {
  facts: Facts;
  /** A report per source, or why there is none. */
  reports: Map<Source, Report | Error>;
}

/** One run: every source records the same workload at once. */
export async function runScenario(
  session: Session,
  plan: RunPlan,
  sources: Source[],
  durationS: number,
  threshold = 1,
): Promise<RunResult> {
  const dir = mkdtempSync(join(session.dir, `${plan.name}-`));
  const cleanDir = onUndo(() => rmSync(dir, { recursive: true, force: true }));
  const cgroups: Cgroup[] = [];
  const recorders = new Map<Source, Recorder | Error>();
  const workloads: RunningWorkload[] = [];
  try {
    for (const [i, spec] of plan.cgroups.entries()) cgroups.push(createCgroup(spec, `loadmon-scenario-${process.pid}-${plan.name}-${i}`));
    // Before the recorders: making the page-cache file is I/O load of its own.
    const specs = plan.workloads({ session, dir }, durationS + 15);
    for (const s of sources) recorders.set(s, await startRecorder(dir, s, threshold).catch((e: Error) => e));
    if ([...recorders.values()].every((r) => r instanceof Error))
      return { facts: emptyFacts(durationS), reports: recorders as Map<Source, Error> };
    const load1AtStart = load1();
    const background = await backgroundLoad(
      new Set([process.pid, ...[...recorders.values()].flatMap((r) => (r instanceof Error ? [] : [r.child.pid!]))]),
    );
    // The workload outlives the recorders by a margin (specs above): they stop while the load is still there.
    for (const w of specs) {
      workloads.push(
        await startWorkload(
          session,
          w.args,
          (w.cgroups ?? []).map((i) => cgroups[i]!),
        ),
      );
    }
    const cgroupPaths = cgroups.map((cg) => {
      const text = readFileSync(`/proc/${workloads[0]!.pid}/cgroup`, 'utf8');
      return cgroupPathOf(text, cg.controller) ?? '(not in /proc/PID/cgroup)';
    });
    await sleep(durationS * 1000);
    // All at once: the stores then cover the same period.
    await Promise.all(
      [...recorders].map(([s, r]) => (r instanceof Error ? null : stopRecorder(r).catch((e: Error) => recorders.set(s, e)))),
    );
    const facts: Facts = {
      pids: workloads.map((w) => w.pid),
      inode: workloads[0]?.inode ?? 0,
      cgroupPaths,
      load1AtStart,
      background,
      durationS,
    };
    await Promise.all(workloads.map((w) => w.stop()));
    const reports = new Map<Source, Report | Error>();
    for (const [s, r] of recorders) reports.set(s, r instanceof Error ? r : readOr(r.db));
    return { facts, reports };
  } finally {
    for (const r of recorders.values()) if (!(r instanceof Error)) r.kill();
    await Promise.all(workloads.map((w) => w.stop()));
    for (const cg of cgroups.reverse()) cg.remove();
    cleanDir();
  }
}

function emptyFacts(durationS: number): Facts {
  return { pids: [], inode: 0, cgroupPaths: [], load1AtStart: load1(), background: { r: 0, d: 0 }, durationS };
}

/** Five scans over a second: a steady background shows, a blip averages out. */
async function backgroundLoad(exclude: Set<number>): Promise<{ r: number; d: number }> {
  let r = 0;
  let d = 0;
  for (let i = 0; i < 5; i++) {
    const c = countRD(exclude);
    r += c.r / 5;
    d += c.d / 5;
    await sleep(200);
  }
  return { r: Math.round(r * 10) / 10, d: Math.round(d * 10) / 10 };
}

function readOr(db: string): Report | Error {
  try {
    return readReport(db);
  } catch (err) {
    return err as Error;
  }
}
