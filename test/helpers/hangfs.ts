/**
 * A file whose read() never returns, for the hang guards' tests (hangfs.c):
 * a FUSE server that never answers reads, its one file bind-mounted over a
 * file of a crafted proc tree. It is a regular file, so it passes the type
 * check that now refuses FIFOs (the old way to simulate a hang). A reader
 * stays in D until stop(); SIGKILL alone does not free it, as with a real
 * stack read behind a held exec lock. Root only (mount).
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), 'hangfs.c');

export interface Hang {
  /** Stops the server: every blocked read fails at once (ENOTCONN); unmounts both mounts. */
  stop(): Promise<void>;
}

/** Why hangfs cannot run here, or null. */
export function hangfsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (mount)';
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'needs gcc';
  }
  try {
    execFileSync('test', ['-c', '/dev/fuse']);
  } catch {
    return 'needs /dev/fuse';
  }
  return null;
}

/** Makes `target` (an existing regular file) one whose reads block until stop(). */
export async function hangOn(target: string): Promise<Hang> {
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-hangfs-'));
  const bin = join(dir, 'hangfs');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('gcc', ['-O2', '-Wall', '-o', bin, SRC], { stdio: ['ignore', 'ignore', 'pipe'] });
  const server = spawn(bin, [mnt], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('hangfs did not mount within 10 s')), 10_000);
    server.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hangfs exited with ${code} before mounting`));
    });
  });
  execFileSync('mount', ['--bind', join(mnt, 'stack'), target]);
  const exited = new Promise((r) => server.once('exit', r));
  return {
    async stop(): Promise<void> {
      // The server unmounts lazily and exits on SIGTERM; the aborted connection frees every reader.
      server.kill('SIGTERM');
      await exited;
      try {
        execFileSync('umount', ['-l', target], { stdio: 'ignore' });
      } catch {
        /* already gone with the server's mount */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
