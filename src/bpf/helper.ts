/**
 * The helper process (bpf/build/loadmon-bpf): started once per collector,
 * it loads the BPF programs and answers commands on a pipe (protocol.ts).
 * Requests are answered in order, so a FIFO of pending replies is enough.
 *
 * Every request has a deadline (HELPER_DEADLINES_MS), counted from when the
 * helper can start on it (the previous reply is in): a helper that misses
 * one may be wedged, so it is killed with its process group and every
 * request rejects with E_BPF, as when it dies (docs/bpf.md, "Deadlines").
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { childEnv, loadmonEnv } from '../env.ts';
import { bpfError, sourceUnavailable } from '../errors.ts';
import { INSTALL_HINT, PRIVILEGE_HINT } from './availability.ts';
import {
  type Fatal,
  type HelperOffcpu,
  type HelperSnapshot,
  type MapRecord,
  PROTOCOL_VERSION,
  parseMapFailure,
  parseMapLine,
  parseReady,
  parseSampleLine,
  parseSampleReply,
  parseSnapshotReply,
  parseUserStackLine,
  type Ready,
  type SampleRecord,
} from './protocol.ts';

/** The helper's commands, and `start` for the wait for its ready line. */
export type HelperCommand = 'start' | 'snapshot' | 'sample' | 'profile-start' | 'profile-stop' | 'offcpu-start' | 'maps';

/**
 * How long the helper may take to answer each command before it is taken
 * for wedged and killed. Measured on the 2-vCPU development VM at load1 ~11,
 * 5,000 and 10,000 threads alive, worst of 3-30 (docs/bpf.md, "Deadlines"):
 * start (BTF, loading and verifying the programs) 1.2 s, snapshot 30 ms,
 * sample with the off-CPU read 136 ms, profile-stop 54 ms, offcpu-start
 * 13 ms, profile-start 5 ms, maps of 8 processes 50 ms. Each default is
 * 25-300x that: the helper waits for a CPU like everything else on a loaded
 * machine, and a wedged one still ends a watch or record within seconds.
 * `maps` gets its own read timeout on top of its entry (fork and replies).
 */
export const HELPER_DEADLINES_MS: Readonly<Record<HelperCommand, number>> = {
  start: 30_000,
  snapshot: 10_000,
  sample: 10_000,
  'profile-start': 5_000,
  'profile-stop': 5_000,
  'offcpu-start': 5_000,
  maps: 5_000,
};

export interface HelperOptions {
  /** Deadlines other than the defaults (tests use short ones). */
  deadlinesMs?: Partial<Record<HelperCommand, number>>;
}

interface Pending {
  command: HelperCommand;
  /** Milliseconds the helper has for this request once it is at the head of the queue. */
  deadlineMs: number;
  timer: NodeJS.Timeout | null;
  lines: string[];
  /** True when this line ends the reply. */
  done: (line: string) => boolean;
  resolve: (lines: string[]) => void;
  reject: (err: Error) => void;
}

export interface HelperProfile {
  samples: SampleRecord[];
  stacks: Map<number, bigint[]>;
}

export interface HelperMaps {
  maps: MapRecord[];
  failed: Map<number, string>;
}

export class BpfHelper {
  private readonly pending: Pending[] = [];
  private exited: string | null = null;

  private constructor(
    private readonly child: ChildProcess,
    /** How the helper's snapshot pass walks the threads (docs/bpf.md, "The pass"). */
    readonly pass: 'task-list' | 'iter-task',
    /** Whether the kernel has the lock-wait tracepoints and took their programs (wait-for chains). */
    readonly locks: boolean,
    private readonly deadlines: Readonly<Record<HelperCommand, number>>,
  ) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => this.onLine(line));
    // A write to a helper that just died fails with EPIPE; its death is reported by 'close'.
    child.stdin!.on('error', () => {});
    child.once('close', (code, signal) => {
      this.exited ??= signal ? `killed by ${signal}` : `exited with status ${code}`;
      this.failAll(null);
    });
  }

  /** Starts the helper and waits until its programs are loaded (within the `start` deadline). */
  static start(path: string, opts: HelperOptions = {}): Promise<BpfHelper> {
    const deadlines = { ...HELPER_DEADLINES_MS, ...opts.deadlinesMs };
    return new Promise((resolve, reject) => {
      // Its own process group: a terminal's Ctrl-C goes to loadmon, which
      // then shuts the helper down in order (the helper also dies with us).
      const child = spawn(path, [], {
        detached: true,
        stdio: ['pipe', 'pipe', loadmonEnv().bpfDebug ? 'inherit' : 'ignore'],
        env: childEnv(),
      });
      const rl = createInterface({ input: child.stdout! });
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        rl.close();
        killGroup(child);
        reject(err);
      };
      const timer = setTimeout(
        () => fail(bpfError(`the eBPF helper ${path} was not ready within ${deadlines.start} ms (start): killed it`)),
        deadlines.start,
      );
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') fail(sourceUnavailable('bpf', `the eBPF helper ${path} is not built: ${INSTALL_HINT}`));
        else if (err.code === 'EACCES') fail(sourceUnavailable('bpf', `the eBPF helper ${path} is not executable (${err.message})`));
        else fail(bpfError(`cannot start the eBPF helper ${path}: ${err.message}`));
      });
      child.once('close', (code, signal) =>
        fail(bpfError(`the eBPF helper ${path} ${signal ? `was killed by ${signal}` : `exited with status ${code}`} before it was ready`)),
      );
      rl.once('line', (line) => {
        if (settled) return;
        let ready: Ready | Fatal;
        try {
          ready = parseReady(line);
        } catch (err) {
          return fail(err as Error);
        }
        if ('kind' in ready) return fail(fatalError(ready));
        if (ready.version !== PROTOCOL_VERSION) {
          return fail(
            bpfError(`the eBPF helper ${path} speaks protocol ${ready.version}, loadmon ${PROTOCOL_VERSION}: rebuild it (npm run build)`),
          );
        }
        settled = true;
        clearTimeout(timer);
        rl.close();
        child.removeAllListeners('close');
        child.removeAllListeners('error');
        child.stdout!.pause();
        resolve(new BpfHelper(child, ready.pass, ready.locks, deadlines));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** One iterator pass; `rStacks: false` leaves out the kernel stacks of R tasks (D ones keep theirs). */
  async snapshot(depth: number, skipPid: number, rStacks = true): Promise<HelperSnapshot> {
    const lines = await this.request('snapshot', `snapshot depth=${depth} skip=${skipPid} rstacks=${rStacks ? 1 : 0}`, (l) =>
      l.startsWith('end'),
    );
    return parseSnapshotReply(lines);
  }

  /**
   * The recorder's sample in one round trip: the off-CPU read (null when the
   * tracking is not started), then a pass without the kernel stacks of R tasks.
   */
  async sample(depth: number, skipPid: number): Promise<{ offcpu: HelperOffcpu | null; pass: HelperSnapshot }> {
    const lines = await this.request('sample', `sample depth=${depth} skip=${skipPid}`, (l) => l.startsWith('end'));
    return parseSampleReply(lines);
  }

  /** Attaches the sampling program to every CPU at `hz`; returns how many CPUs. */
  async profileStart(hz: number): Promise<number> {
    const [line] = await this.request('profile-start', `profile-start hz=${hz}`, () => true);
    if (line!.startsWith('ok ')) return Number(line!.slice(3));
    throw bpfError(`cannot start on-CPU sampling: ${line!.replace(/^err /, '')}`);
  }

  /** Detaches the sampling program and returns what it counted since profileStart. */
  async profileStop(): Promise<HelperProfile> {
    const lines = await this.request('profile-stop', 'profile-stop', (l) => l === 'end');
    const samples: SampleRecord[] = [];
    const stacks = new Map<number, bigint[]>();
    for (const l of lines) {
      if (l.startsWith('s ')) samples.push(parseSampleLine(l));
      else if (l.startsWith('u ')) {
        const u = parseUserStackLine(l);
        stacks.set(u.id, u.addrs);
      }
    }
    return { samples, stacks };
  }

  /**
   * Attaches the sched_switch programs and, where they loaded, the lock-wait
   * ones (idempotent); returns the CLOCK_MONOTONIC ns the tracking counts
   * from and whether lock waits are tracked.
   */
  async offcpuStart(skipPid: number): Promise<{ startNs: number; locks: boolean }> {
    const [line] = await this.request('offcpu-start', `offcpu-start skip=${skipPid}`, () => true);
    const m = /^ok (\d+) locks=([01])$/.exec(line!);
    if (m) return { startNs: Number(m[1]), locks: m[2] === '1' };
    throw bpfError(`cannot track time blocked in D: ${line!.replace(/^err /, '')}`);
  }

  /** Executable mappings of these processes, read by the helper under a deadline. */
  async maps(pids: number[], timeoutMs: number): Promise<HelperMaps> {
    const maps: MapRecord[] = [];
    const failed = new Map<number, string>();
    if (pids.length === 0) return { maps, failed };
    const readMs = Math.max(1, Math.round(timeoutMs));
    // The helper's own read deadline, plus this command's for the rest.
    const lines = await this.request('maps', `maps ${readMs} ${pids.slice(0, 256).join(' ')}`, (l) => l === 'end', readMs);
    for (const l of lines) {
      if (l.startsWith('m ')) maps.push(parseMapLine(l));
      else if (l.startsWith('x ')) {
        const x = parseMapFailure(l);
        failed.set(x.pid, x.reason);
      }
    }
    return { maps, failed };
  }

  /** Asks the helper to detach and exit; kills it if it has not within a second. */
  close(): void {
    if (this.exited !== null) return;
    try {
      this.child.stdin!.end('quit\n');
    } catch {
      /* already gone */
    }
    const t = setTimeout(() => this.child.kill('SIGKILL'), 1000);
    t.unref();
    this.child.once('exit', () => clearTimeout(t));
    this.child.unref();
    (this.child.stdout as unknown as { unref?: () => void }).unref?.();
  }

  private request(command: HelperCommand, line: string, done: (line: string) => boolean, extraMs = 0): Promise<string[]> {
    if (this.exited !== null) return Promise.reject(bpfError(`the eBPF helper ${this.exited}`));
    return new Promise((resolve, reject) => {
      const deadlineMs = this.deadlines[command] + extraMs;
      this.pending.push({ command, deadlineMs, timer: null, lines: [], done, resolve, reject });
      if (this.pending.length === 1) this.arm(this.pending[0]!);
      this.child.stdout!.resume();
      this.child.stdin!.write(`${line}\n`);
    });
  }

  /** Starts the head request's clock: the helper answers in order, so it starts on it now. */
  private arm(p: Pending): void {
    p.timer = setTimeout(() => this.expire(p), p.deadlineMs);
  }

  /** A missed deadline: the helper may be wedged (stuck in the kernel, or looping); kill it and fail everything. */
  private expire(p: Pending): void {
    p.timer = null;
    this.exited ??= `was killed: no answer to '${p.command}' within ${p.deadlineMs} ms`;
    killGroup(this.child);
    this.failAll(bpfError(`the eBPF helper did not answer '${p.command}' within ${p.deadlineMs} ms: killed it (wedged?)`));
  }

  /** Rejects every pending request: the first with `first` when given, the others (or all) with why the helper is gone. */
  private failAll(first: Error | null): void {
    const all = this.pending.splice(0);
    all.forEach((p, i) => {
      if (p.timer) clearTimeout(p.timer);
      p.reject(i === 0 && first ? first : bpfError(`the eBPF helper ${this.exited}`));
    });
  }

  private onLine(line: string): void {
    const p = this.pending[0];
    if (!p) return;
    p.lines.push(line);
    if (!p.done(line)) return;
    this.pending.shift();
    if (p.timer) clearTimeout(p.timer);
    const next = this.pending[0];
    if (next) this.arm(next);
    p.resolve(p.lines);
  }
}

/**
 * SIGKILL to the helper's process group (it runs in its own, and the maps
 * command's reader is its child there), else to the helper alone.
 */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) {
      process.kill(-child.pid, 'SIGKILL');
      return;
    }
  } catch {
    /* the group is gone, or not ours: try the process itself */
  }
  try {
    child.kill('SIGKILL');
  } catch {
    /* already gone */
  }
}

function fatalError(f: Fatal): Error {
  if (f.kind === 'perm') return sourceUnavailable('bpf', `${PRIVILEGE_HINT} (${f.message})`);
  if (f.kind === 'btf')
    return sourceUnavailable('bpf', `the kernel exposes no BTF (${f.message}); a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed`);
  return sourceUnavailable('bpf', `the kernel refused loadmon's BPF programs (${f.message})`);
}
