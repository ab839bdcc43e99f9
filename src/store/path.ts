/**
 * What a store path names. A store is a regular file (or nothing yet: record
 * creates it); SQLite given a device or a directory makes a mess of it
 * (`/dev/null-journal`, "disk I/O error"). The writer's lock must follow the
 * real file, because a symlink is another name for the same store: SQLite
 * itself resolves symlinks and puts the -wal next to the real file.
 */

import { lstatSync, readlinkSync, realpathSync, type Stats, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** Symlink hops followed before giving up (the kernel's own limit is 40). */
const MAX_HOPS = 40;

/** Why `path` cannot hold a store, or null when it is a regular file (through symlinks) or does not exist yet. */
export function notAStoreFile(path: string): string | null {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    // Missing (created on first record), a dangling symlink (SQLite creates its target),
    // or unreachable: opening says what is wrong then.
    return null;
  }
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'is a directory, not a store file';
  return `not a regular file (${kindOf(st)})`;
}

function kindOf(st: Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * The real file a store path names: symlinks resolved, also a dangling one
 * (the file it points to is the one SQLite will create), and for a file that
 * does not exist yet the real directory plus its name.
 */
export function realStorePath(path: string): string {
  let p = resolve(path);
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    try {
      return realpathSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (!isSymlink(p)) break;
    p = resolve(dirname(p), readlinkSync(p));
  }
  try {
    return join(realpathSync(dirname(p)), basename(p));
  } catch {
    return p;
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
