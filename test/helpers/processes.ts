/**
 * Long-running CLI children of the e2e and integration tests (`loadmon
 * record`, `loadmon serve`) and the bounded waits around them. A test file
 * keeps one ChildSet and calls killAll() in its after(), so a failed test
 * leaves no recorder or server behind; mounts made by a test are undone the
 * same way.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

import { CLI } from './cli.ts';

/** The children a test file started and that are still running. */
export class ChildSet {
  private readonly running = new Set<ChildProcess>();

  /** Keeps `child` until it exits. */
  add<C extends ChildProcess>(child: C): C {
    this.running.add(child);
    child.once('exit', () => this.running.delete(child));
    return child;
  }

  killAll(): void {
    for (const c of this.running) c.kill('SIGKILL');
  }
}

/** Unmounts `mounts` (newest first); a test that unmounted one itself leaves the rest to this. */
export function unmountAll(mounts: string[]): void {
  for (const m of [...mounts].reverse()) {
    try {
      execFileSync('umount', [m]);
    } catch {
      /* already unmounted by the test */
    }
  }
}

export interface Scratch {
  /** A new directory under the system's temporary one. */
  dir: string;
  children: ChildSet;
  /** Mount points the test made and has not unmounted yet. */
  mounts: string[];
}

/** A test file's scratch space, undone in its after(): children killed, mounts unmounted, the directory removed. */
export function scratch(prefix: string): Scratch {
  const s: Scratch = { dir: mkdtempSync(join(tmpdir(), prefix)), children: new ChildSet(), mounts: [] };
  after(() => {
    s.children.killAll();
    unmountAll(s.mounts);
    rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}

/** Waits, polling every 50 ms, until `cond()` holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Recording {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `loadmon record --db db --source procfs ...args`, its stderr collected. */
export function startRecord(children: ChildSet, db: string, ...args: string[]): Recording {
  const child = children.add(
    spawn(process.execPath, [CLI, 'record', '--db', db, '--source', 'procfs', ...args], { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

export interface Served {
  child: ChildProcess;
  /** The base URL serve printed (`http://127.0.0.1:PORT/`). */
  url: string;
  stderr: () => string;
}

export interface ServeOptions {
  env?: NodeJS.ProcessEnv;
  /** Tracked for the file's after(); benchmarks stop their one server themselves. */
  children?: ChildSet;
  timeoutMs?: number;
}

/** Starts `loadmon serve ...args`; resolves with the URL it prints on stderr, rejects if it exits first. */
export function startServe(args: string[], opts: ServeOptions = {}): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: opts.env ?? process.env });
  opts.children?.add(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL: ${err}`)), opts.timeoutMs ?? 20_000);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /serving (http:\/\/\S+\/) /.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code}: ${err}`));
    });
  });
}

/** SIGTERM, then the exit code once the child has exited. */
export function stopChild(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** Threads alive in the system now (every /proc/PID/task entry). */
export function systemThreads(): number {
  let n = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      n += readdirSync(`/proc/${p}/task`).length;
    } catch {
      // Gone since the readdir.
    }
  }
  return n;
}
