/**
 * A set of bounded synthetic load processes (busy loops in R, vfork-blocked
 * parents in D, many-threaded sleepers) that can all be stopped and reaped
 * at once. Each process leads its own process group, so stopping kills the
 * vfork children too; each also dies with its parent (PR_SET_PDEATHSIG).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Started {
  pid: number;
  /** The tid that carries the load (the D thread for vfork-thread), if any. */
  tid: number | null;
}

export class Workload {
  private readonly children: ChildProcess[] = [];

  constructor(private readonly loadgen: string | null) {}

  /** The seed's busy loop, `while :; do :; done`, bounded by `seconds`. */
  spin(seconds: number): Promise<Started> {
    if (this.loadgen) return this.start(this.loadgen, ['spin', String(seconds)]);
    return this.start('sh', [
      '-c',
      `echo ready $$; end=$(( $(date +%s) + ${Math.ceil(seconds)} )); while [ $(date +%s) -lt $end ]; do :; done`,
    ]);
  }

  /** A parent blocked in vfork() (state D) while its child sleeps `seconds`. Needs loadgen. */
  vfork(seconds: number, comm?: string): Promise<Started> {
    return this.start(this.required(), ['vfork', String(seconds)], comm);
  }

  /** Synchronous direct writes (the seed's fio stand-in): often in D, no compiler needed. */
  directIo(seconds: number, file: string): Promise<Started> {
    const script =
      `echo ready $$; end=$(( $(date +%s) + ${Math.ceil(seconds)} )); ` +
      `while [ $(date +%s) -lt $end ]; do dd if=/dev/zero of='${file}' bs=4k count=256 oflag=direct,dsync 2>/dev/null; done; rm ` +
      `-f '${file}'`;
    return this.start('sh', ['-c', script]);
  }

  /** In D for `ms` (vfork), then asleep for `ms`, over and over: short blockages, half the time. Needs loadgen. */
  pulse(ms: number, seconds: number, comm?: string): Promise<Started> {
    return this.start(this.required(), ['pulse', String(ms), String(seconds)], comm);
  }

  threads(n: number, seconds: number, comm?: string): Promise<Started> {
    return this.start(this.required(), ['threads', String(n), String(seconds)], comm);
  }

  vforkThread(n: number, seconds: number): Promise<Started> {
    return this.start(this.required(), ['vfork-thread', String(n), String(seconds)]);
  }

  get pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  /** SIGKILL every process group we started and wait until each leader is reaped. */
  async stop(): Promise<void> {
    const waits = this.children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
        }),
    );
    for (const c of this.children) {
      if (c.pid === undefined) continue;
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        try {
          c.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    await Promise.all(waits);
    this.children.length = 0;
  }

  private required(): string {
    if (!this.loadgen) throw new Error('this load needs the compiled loadgen helper (gcc)');
    return this.loadgen;
  }

  private start(cmd: string, args: string[], comm?: string): Promise<Started> {
    const env = comm === undefined ? process.env : { ...process.env, LOADGEN_COMM: comm };
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'inherit'], env });
    this.children.push(child);
    return new Promise<Started>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      const onExit = (code: number | null): void => reject(new Error(`${cmd} ${args.join(' ')} exited (${code}) before it was ready`));
      child.once('error', reject);
      child.once('exit', onExit);
      rl.once('line', (line) => {
        child.off('exit', onExit);
        const f = line.trim().split(/\s+/);
        if (f[0] !== 'ready') return reject(new Error(`unexpected output from ${cmd}: ${line}`));
        resolve({ pid: Number(f[1]), tid: f[2] === undefined ? null : Number(f[2]) });
        child.stdout!.resume();
      });
    });
  }
}
