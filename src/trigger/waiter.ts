/**
 * The Node side of the native waiter (native/waiter.c, docs/trigger.md):
 * one child process that wakes loadmon once per load-average update instead
 * of Node polling /proc/loadavg, and that waits in poll() for the kernel's PSI
 * trigger events (Node cannot poll for POLLPRI). Every wait is bounded: the
 * start (`ready`) and each command's answer have deadlines, lines have a
 * length cap, and close() kills the child if it does not leave by itself.
 */

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';

import { registerOwnProcess } from '../collect/self.ts';
import { loadmonEnv } from '../env.ts';
import { type LoadmonError, waiterError } from '../errors.ts';
import { PACKAGE_ROOT } from '../paths.ts';
import {
  hushCommand,
  type PsiRequest,
  parseWaiterLine,
  psiCommand,
  rowsCommand,
  WAITER_LINE_MAX,
  WAITER_PROTOCOL,
  type WaiterLine,
  type WaiterRow,
} from './waiter-protocol.ts';

/** How long the waiter may take to say `ready`, and to answer a command. */
export const WAITER_START_MS = 3_000;
export const WAITER_ACK_MS = 3_000;
/** After `quit`, how long the waiter has to exit before it is killed. */
const WAITER_QUIT_MS = 1_000;
/** stderr kept for the error message of a waiter that failed. */
const STDERR_KEEP = 1_024;

/** The binary built by `npm run build`: dist/native/loadmon-wait. */
export const BUILT_WAITER = join(PACKAGE_ROOT, 'dist', 'native', 'loadmon-wait');

/** The waiter to run: LOADMON_WAITER, or the built one; null when LOADMON_WAITER=off (Node polls). */
export function waiterPath(): string | null {
  const v = loadmonEnv().waiter;
  if (v === 'off') return null;
  return v ?? BUILT_WAITER;
}

/**
 * A CLOCK_MONOTONIC time in ms (the waiter's t_ms) on performance.now()'s
 * clock: Node's hrtime is CLOCK_MONOTONIC on Linux, and performance.now() is
 * hrtime less the process's time origin, so the difference of the two now is
 * that origin.
 */
export function monotonicToPerf(tMs: number): number {
  return tMs - (Number(process.hrtime.bigint()) / 1e6 - performance.now());
}

export type LoadUpdate = Extract<WaiterLine, { type: 'load' }>;

/** What the load watcher uses of the waiter (a fake in unit tests). */
export type LoadSource = Pick<WaiterClient, 'ready' | 'error' | 'onLoad' | 'onExit' | 'close' | 'hush'>;

/** What the recorder uses of the waiter for its light rows (a fake in unit tests). */
export type RowSource = Pick<WaiterClient, 'ready' | 'error' | 'onRow' | 'onExit' | 'startRows' | 'flushRows' | 'stopRows'>;

/** The recorder's light rows: one every `periodMs` at `phaseMs` of the wall clock, `batch` at a time. */
export interface RowsRequest {
  periodMs: number;
  phaseMs: number;
  batch: number;
  /** load1 at or above which a row is written at once. */
  flushAbove: number;
  /**
   * A file the waiter appends each row to as it takes it (and cuts back to
   * the last batch handed over): the rows a SIGKILLed recorder had not stored
   * yet (see rows_spool in native/waiter.c). Must satisfy spoolable().
   */
  spool?: string;
}

export interface WaiterOptions {
  path: string;
  procRoot?: string;
  /** Read interval inside the window around each expected update (ms). */
  intervalMs?: number;
}

interface Pending {
  resolve: () => void;
  reject: (err: LoadmonError) => void;
  timer: NodeJS.Timeout;
}

export class WaiterClient {
  /** Resolves at `ready`; rejects when the waiter cannot start (missing binary, bad /proc, no answer). */
  readonly ready: Promise<void>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<string, Pending>();
  private readonly loadListeners: Array<(u: LoadUpdate) => void> = [];
  private readonly psiListeners: Array<(id: string, tMs: number) => void> = [];
  private readonly goneListeners: Array<(id: string) => void> = [];
  private readonly exitListeners: Array<(err: LoadmonError) => void> = [];
  private readonly rowListeners: Array<(row: WaiterRow) => void> = [];
  private partial = '';
  private stderr = '';
  private failure: LoadmonError | null = null;
  private closing = false;
  private started!: { resolve: () => void; reject: (err: LoadmonError) => void };

  constructor(private readonly opts: WaiterOptions) {
    const args = ['--proc-root', opts.procRoot ?? '/proc', '--interval', String(Math.min(1000, Math.max(1, opts.intervalMs ?? 10)))];
    this.ready = new Promise<void>((resolve, reject) => (this.started = { resolve, reject }));
    // Nobody may be listening yet: an unobserved start failure must not crash the process.
    this.ready.catch(() => {});
    const timer = setTimeout(() => this.fail('did not say ready', `no answer in ${WAITER_START_MS} ms`), WAITER_START_MS);
    void this.ready.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    this.child = spawn(opts.path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // loadmon's own: captures leave it out (it is R while it reads, D never).
    this.child.once('exit', registerOwnProcess(this.child.pid));
    this.child.on('error', (err) => this.fail('cannot run it', err.message));
    this.child.on('exit', (code, signal) => this.onExitEvent(code, signal));
    this.child.stdin.on('error', () => {}); // EPIPE after it died: reported by 'exit'
    this.child.stdout.setEncoding('latin1');
    this.child.stdout.on('data', (chunk: string) => this.onData(chunk));
    this.child.stderr.setEncoding('latin1');
    this.child.stderr.on('data', (chunk: string) => {
      if (this.stderr.length < STDERR_KEEP) this.stderr = (this.stderr + chunk).slice(0, STDERR_KEEP);
    });
  }

  /** Each load-average update the waiter saw. */
  onLoad(cb: (u: LoadUpdate) => void): void {
    this.loadListeners.push(cb);
  }

  /** Each PSI trigger event: the trigger's id and the CLOCK_MONOTONIC ms of it (monotonicToPerf converts). */
  onPsi(cb: (id: string, tMs: number) => void): void {
    this.psiListeners.push(cb);
  }

  /** A PSI trigger the kernel dropped (its file went away); the waiter forgot it. */
  onPsiGone(cb: (id: string) => void): void {
    this.goneListeners.push(cb);
  }

  /** The waiter failed: could not start, died, broke the protocol; once, and never after close(). */
  onExit(cb: (err: LoadmonError) => void): void {
    this.exitListeners.push(cb);
  }

  /** The failure that stopped the waiter, if one did. */
  get error(): LoadmonError | null {
    return this.failure;
  }

  /** Registers a PSI trigger; rejects with the waiter's own text (E_WAITER, fields.reason) or on its deadline. */
  async addPsi(req: PsiRequest): Promise<void> {
    await this.command(`psi ${req.id}`, psiCommand(req));
  }

  /** Removes a PSI trigger by id. */
  async removePsi(id: string): Promise<void> {
    await this.command(`unpsi ${id}`, `unpsi ${id}`);
  }

  /** Each light row the waiter took (`row` lines), in the order taken. */
  onRow(cb: (row: WaiterRow) => void): void {
    this.rowListeners.push(cb);
  }

  /** Starts (or re-times) the light rows; rejects as addPsi does. */
  async startRows(req: RowsRequest): Promise<void> {
    await this.command('rows', rowsCommand(req.periodMs, req.phaseMs, req.batch, req.flushAbove, req.spool));
  }

  /** Resolves once every row taken before now was delivered to onRow; `ackMs`: the deadline. */
  async flushRows(ackMs = WAITER_ACK_MS): Promise<void> {
    await this.command('flush', 'flush', ackMs);
  }

  /** Stops the rows, after delivering the pending ones. */
  async stopRows(): Promise<void> {
    await this.command('norows', 'norows');
  }

  /**
   * From now on, while load1 is below `below`, one load line every `everyMs`
   * instead of one per update (at or above it: every one); `below` 0: every
   * line again. Rejects as addPsi does.
   */
  async hush(below: number, everyMs: number): Promise<void> {
    await this.command('hush', hushCommand(below, everyMs));
  }

  /** Stops the waiter: `quit`, then SIGKILL if it is still there after a second. Idempotent. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.rejectAll(waiterError('closed', 'closed'));
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), WAITER_QUIT_MS);
    timer.unref();
    this.child.once('exit', () => clearTimeout(timer));
  }

  private async command(key: string, line: string, ackMs = WAITER_ACK_MS): Promise<void> {
    await this.ready;
    if (this.failure) throw this.failure;
    if (this.closing) throw waiterError('closed', 'closed');
    if (this.pending.has(key)) throw waiterError(`'${key}' is already waiting for its answer`, 'busy');
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(waiterError(`no answer to '${key}' in ${ackMs} ms`, 'timeout'));
      }, ackMs);
      this.pending.set(key, { resolve, reject, timer });
      this.child.stdin.write(`${line}\n`);
    });
  }

  private onData(chunk: string): void {
    this.partial += chunk;
    let nl = this.partial.indexOf('\n');
    while (nl >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.onLine(line);
      nl = this.partial.indexOf('\n');
    }
    if (this.partial.length > WAITER_LINE_MAX) this.fail('broke its protocol', `a line longer than ${WAITER_LINE_MAX} bytes`);
  }

  private onLine(text: string): void {
    const line = parseWaiterLine(text);
    if (!line) {
      this.fail('broke its protocol', `unexpected line '${text.slice(0, 80)}'`);
    } else if (line.type === 'ready') {
      if (line.version === WAITER_PROTOCOL) this.started.resolve();
      else this.fail('is another version', `protocol ${line.version}, want ${WAITER_PROTOCOL}`);
    } else if (line.type === 'load') {
      for (const cb of this.loadListeners) cb(line);
    } else if (line.type === 'psi') {
      for (const cb of this.psiListeners) cb(line.id, line.tMs);
    } else if (line.type === 'ok') {
      this.settle(`${line.command} ${line.id}`, null);
    } else if (line.type === 'row') {
      for (const cb of this.rowListeners) cb(line.row);
    } else if (line.type === 'done') {
      this.settle(line.command, null);
    } else if (line.type === 'refused') {
      this.settle(line.command, waiterError(`${line.command}: ${line.text}`, line.text));
    } else {
      this.onErr(line);
    }
  }

  private onErr(line: Extract<WaiterLine, { type: 'err' }>): void {
    const key = `${line.command} ${line.id}`;
    if (line.command !== null && this.pending.has(key)) {
      this.settle(key, waiterError(`${key}: ${line.text}`, line.text));
    } else if (line.command === 'psi' && line.text === 'gone') {
      for (const cb of this.goneListeners) cb(line.id);
    }
    // Else an answer nobody waits for any more (its deadline passed).
  }

  private settle(key: string, err: LoadmonError | null): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve();
  }

  private onExitEvent(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closing) return;
    const how = signal ? `killed by ${signal}` : `exited with status ${code}`;
    const said = this.stderr.trim().split('\n')[0];
    this.fail(`${how}`, said ? `${how}: ${said}` : how);
  }

  private fail(message: string, reason: string): void {
    if (this.failure || this.closing) return;
    this.failure = waiterError(`${this.opts.path} ${message} (${reason})`, reason, this.opts.path);
    this.started.reject(this.failure);
    this.rejectAll(this.failure);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    for (const cb of this.exitListeners) cb(this.failure);
  }

  private rejectAll(err: LoadmonError): void {
    for (const [key, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(key);
      p.reject(err);
    }
  }
}
