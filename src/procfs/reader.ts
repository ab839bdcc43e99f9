/**
 * Synchronous small-file reads into one reused buffer.
 *
 * Measured on this platform: open+readSync into a reused Buffer costs about
 * 12 ms per 1,000 threads, fs.promises about 60 ms (thread-pool round trips),
 * readFileSync about 19 ms (allocation per call). procfs files are generated
 * on read (st_size is 0), so we keep reading until the buffer is not filled:
 * seq_file, like a regular file, returns less than asked only at the end, so
 * a short read ends the file without the extra read() that would return 0
 * (that extra syscall cost 12% of a scan here).
 *
 * Bounded (--proc-root can name any directory): every read has a byte cap
 * (limits.ts) and a file over it is rejected (E_PROC_FILE), so /dev/zero
 * cannot grow the buffer; every open is O_NONBLOCK, so a FIFO cannot block
 * it. Both cost nothing. A tree that is not a procfs mount is untrusted: each
 * file is lstat()ed first and must be a regular file (no FIFO, device,
 * directory or symlink is ever opened: opening some devices has effects) and
 * is opened with O_NOFOLLOW. That extra syscall is spent only there: files of
 * a procfs mount are the kernel's (docs/benchmarks.md).
 */

import { closeSync, constants, lstatSync, openSync, readSync, type Stats, statfsSync } from 'node:fs';
import { dirname } from 'node:path';

import { isDenied, isVanished, LoadmonError, procFileRejected, procUnreadable } from '../errors.ts';
import { FILE_CAP } from './limits.ts';

/** statfs f_type of procfs (PROC_SUPER_MAGIC). */
const PROC_SUPER_MAGIC = 0x9fa0;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

export interface ProcReaderOptions {
  /** Check every file's type before opening it (a tree that is not the kernel's). */
  untrusted?: boolean;
}

export class ProcReader {
  private buf: Buffer;
  private readonly untrusted: boolean;

  constructor(initialSize = 4096, opts: ProcReaderOptions = {}) {
    this.buf = Buffer.allocUnsafe(initialSize);
    this.untrusted = opts.untrusted ?? false;
  }

  /** Read the whole file (at most `maxBytes`) as UTF-8 text. Throws the errno error or E_PROC_FILE. */
  readText(path: string, maxBytes: number = FILE_CAP.table): string {
    const n = this.readInto(path, maxBytes);
    return this.buf.toString('utf8', 0, n);
  }

  /** Read the whole file into the internal buffer; returns the byte count. Over `maxBytes`: E_PROC_FILE. */
  readInto(path: string, maxBytes: number = FILE_CAP.table): number {
    const fd = this.open(path);
    try {
      // One byte past the cap tells a file of exactly maxBytes from a larger one.
      const limit = maxBytes + 1;
      let n = 0;
      for (;;) {
        if (n === this.buf.length) this.grow(limit);
        const want = Math.min(this.buf.length, limit) - n;
        const got = readSync(fd, this.buf, n, want, null);
        n += got;
        if (n >= limit) throw procFileRejected(path, `larger than ${maxBytes} bytes`);
        if (got < want) return n;
      }
    } finally {
      closeSync(fd);
    }
  }

  /** The internal buffer, valid until the next read. */
  get buffer(): Buffer {
    return this.buf;
  }

  private open(path: string): number {
    if (!this.untrusted) return openSync(path, OPEN_FLAGS);
    const st = lstatSync(path);
    if (!st.isFile()) throw procFileRejected(path, `not a regular file (${kindOf(st)})`);
    // O_NOFOLLOW: a file swapped for a symlink after the lstat fails with ELOOP.
    return openSync(path, OPEN_FLAGS | constants.O_NOFOLLOW);
  }

  private grow(limit: number): void {
    const next = Buffer.allocUnsafe(Math.min(this.buf.length * 2, limit));
    this.buf.copy(next);
    this.buf = next;
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * Whether `root` is a procfs mount, whose files the kernel writes. Anything
 * else (a fixture, a copy, a crafted tree) is read as untrusted.
 */
export function isProcMount(root: string): boolean {
  try {
    return statfsSync(root).type === PROC_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** A reader for the files under `root`: type-checked unless root is a procfs mount. */
export function readerFor(root: string, initialSize = 4096): ProcReader {
  return new ProcReader(initialSize, { untrusted: !isProcMount(root) });
}

/**
 * An error that makes one task's file unusable but says nothing about the
 * others: a file that is not what the kernel writes (E_PROC_FILE) or any
 * errno other than "vanished" and "denied" (ENOTDIR, EISDIR, ELOOP, EINVAL,
 * EAGAIN, EIO, ...). Programming errors are not per-task problems.
 */
export function isTaskFileProblem(err: unknown): boolean {
  if (err instanceof LoadmonError) return err.code === 'E_PROC_FILE';
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && !isVanished(err) && !isDenied(err);
}

/** "PATH: why" for a per-task problem, short enough for a note. */
export function describeTaskFileProblem(path: string, err: unknown): string {
  if (err instanceof LoadmonError) return err.message;
  return `${path}: ${(err as NodeJS.ErrnoException).code}`;
}

/** One whole file that must be readable (/proc/stat, /proc/loadavg): a clear error otherwise. */
export function readRequired(path: string, maxBytes: number = FILE_CAP.table, reader?: ProcReader): string {
  try {
    return (reader ?? readerFor(dirname(path))).readText(path, maxBytes);
  } catch (err) {
    throw procUnreadable(path, err);
  }
}
