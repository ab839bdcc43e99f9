/**
 * The helper process (bpf/build/loadmon-bpf): started once per collector,
 * it loads the BPF programs and answers commands on a pipe (protocol.ts).
 * Requests are answered in order, so a FIFO of pending replies is enough.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { childEnv, loadmonEnv } from '../env.ts';
import { bpfError, sourceUnavailable } from '../errors.ts';
import {
  type Fatal,
  type HelperOffcpu,
  type HelperSnapshot,
  type MapRecord,
  parseMapFailure,
  parseMapLine,
  parseReady,
  parseSampleLine,
  parseSampleReply,
  parseSnapshotReply,
  parseUserStackLine,
  PROTOCOL_VERSION,
  type SampleRecord,
} from './protocol.ts';
import { INSTALL_HINT, PRIVILEGE_HINT } from './availability.ts';

interface Pending {
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
  ) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => this.onLine(line));
    // A write to a helper that just died fails with EPIPE; its death is reported by 'close'.
    child.stdin!.on('error', () => {});
    child.once('close', (code, signal) => {
      this.exited = signal ? `killed by ${signal}` : `exited with status ${code}`;
      for (const p of this.pending.splice(0)) p.reject(bpfError(`the eBPF helper ${this.exited}`));
    });
  }

  /** Starts the helper and waits until its programs are loaded. */
  static start(path: string): Promise<BpfHelper> {
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
        rl.close();
        child.kill('SIGKILL');
        reject(err);
      };
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') fail(sourceUnavailable('bpf', `the eBPF helper ${path} is not built: ${INSTALL_HINT}`));
        else if (err.code === 'EACCES') fail(sourceUnavailable('bpf', `the eBPF helper ${path} is not executable (${err.message})`));
        else fail(bpfError(`cannot start the eBPF helper ${path}: ${err.message}`));
      });
      child.once('close', (code, signal) => fail(bpfError(`the eBPF helper ${path} ${signal ? `was killed by ${signal}` : `exited with status ${code}`} before it was ready`)));
      rl.once('line', (line) => {
        if (settled) return;
        let ready;
        try {
          ready = parseReady(line);
        } catch (err) {
          return fail(err as Error);
        }
        if ('kind' in ready) return fail(fatalError(ready));
        if (ready.version !== PROTOCOL_VERSION) {
          return fail(bpfError(`the eBPF helper ${path} speaks protocol ${ready.version}, loadmon ${PROTOCOL_VERSION}: rebuild it (npm run build)`));
        }
        settled = true;
        rl.close();
        child.removeAllListeners('close');
        child.removeAllListeners('error');
        child.stdout!.pause();
        resolve(new BpfHelper(child, ready.pass, ready.locks));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** One iterator pass; `rStacks: false` leaves out the kernel stacks of R tasks (D ones keep theirs). */
  async snapshot(depth: number, skipPid: number, rStacks = true): Promise<HelperSnapshot> {
    const lines = await this.request(`snapshot depth=${depth} skip=${skipPid} rstacks=${rStacks ? 1 : 0}`, (l) => l.startsWith('end'));
    return parseSnapshotReply(lines);
  }

  /**
   * The recorder's sample in one round trip: the off-CPU read (null when the
   * tracking is not started), then a pass without the kernel stacks of R tasks.
   */
  async sample(depth: number, skipPid: number): Promise<{ offcpu: HelperOffcpu | null; pass: HelperSnapshot }> {
    const lines = await this.request(`sample depth=${depth} skip=${skipPid}`, (l) => l.startsWith('end'));
    return parseSampleReply(lines);
  }

  /** Attaches the sampling program to every CPU at `hz`; returns how many CPUs. */
  async profileStart(hz: number): Promise<number> {
    const [line] = await this.request(`profile-start hz=${hz}`, () => true);
    if (line!.startsWith('ok ')) return Number(line!.slice(3));
    throw bpfError(`cannot start on-CPU sampling: ${line!.replace(/^err /, '')}`);
  }

  /** Detaches the sampling program and returns what it counted since profileStart. */
  async profileStop(): Promise<HelperProfile> {
    const lines = await this.request('profile-stop', (l) => l === 'end');
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
    const [line] = await this.request(`offcpu-start skip=${skipPid}`, () => true);
    const m = /^ok (\d+) locks=([01])$/.exec(line!);
    if (m) return { startNs: Number(m[1]), locks: m[2] === '1' };
    throw bpfError(`cannot track time blocked in D: ${line!.replace(/^err /, '')}`);
  }

  /** Executable mappings of these processes, read by the helper under a deadline. */
  async maps(pids: number[], timeoutMs: number): Promise<HelperMaps> {
    const maps: MapRecord[] = [];
    const failed = new Map<number, string>();
    if (pids.length === 0) return { maps, failed };
    const lines = await this.request(`maps ${Math.max(1, Math.round(timeoutMs))} ${pids.slice(0, 256).join(' ')}`, (l) => l === 'end');
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

  private request(command: string, done: (line: string) => boolean): Promise<string[]> {
    if (this.exited !== null) return Promise.reject(bpfError(`the eBPF helper ${this.exited}`));
    return new Promise((resolve, reject) => {
      this.pending.push({ lines: [], done, resolve, reject });
      this.child.stdout!.resume();
      this.child.stdin!.write(`${command}\n`);
    });
  }

  private onLine(line: string): void {
    const p = this.pending[0];
    if (!p) return;
    p.lines.push(line);
    if (p.done(line)) {
      this.pending.shift();
      p.resolve(p.lines);
    }
  }
}

function fatalError(f: Fatal): Error {
  if (f.kind === 'perm') return sourceUnavailable('bpf', `${PRIVILEGE_HINT} (${f.message})`);
  if (f.kind === 'btf') return sourceUnavailable('bpf', `the kernel exposes no BTF (${f.message}); a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed`);
  return sourceUnavailable('bpf', `the kernel refused loadmon's BPF programs (${f.message})`);
}
