/**
 * Which files a store may be (issue 11, items 4 and 7): --db must name a
 * regular file or nothing yet (a symlink to a regular file is fine), and the
 * writer's lock follows the real file, so a second recorder cannot get in
 * through another name for the same store.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { inOptionWords } from '../../src/cli/main.ts';
import { parseRecord, parseReport } from '../../src/cli/store-options.ts';
import { LoadmonError } from '../../src/errors.ts';
import { acquireStoreLock } from '../../src/store/lock.ts';
import { StoreReader } from '../../src/store/reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-store-paths-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const refusedDb =
  (what: RegExp) =>
  (e: unknown): boolean =>
    e instanceof LoadmonError && e.code === 'E_INVALID_OPTION' && e.exitStatus === 2 && /--db/.test(e.message) && what.test(e.message);

test('--db: a device, a directory, or a symlink to a directory is refused with E_INVALID_OPTION naming --db', () => {
  const sub = join(dir, 'a-directory');
  mkdirSync(sub);
  const toDir = join(dir, 'link-to-dir');
  symlinkSync(sub, toDir);
  for (const parse of [(db: string) => parseRecord({ db }), (db: string) => parseReport({ db })]) {
    assert.throws(() => parse('/dev/null'), refusedDb(/not a regular file \(a character device\)/));
    assert.throws(() => parse(sub), refusedDb(/is a directory/));
    assert.throws(() => parse(toDir), refusedDb(/is a directory/));
  }
  assert.equal(existsSync('/dev/null-journal'), false);
});

test('--db: a regular file, a symlink to one, a dangling symlink and a path that does not exist yet are accepted', () => {
  const file = join(dir, 'file.db');
  writeFileSync(file, '');
  const link = join(dir, 'link.db');
  symlinkSync(file, link);
  const dangling = join(dir, 'dangling.db');
  symlinkSync(join(dir, 'not-yet.db'), dangling);
  for (const db of [file, link, dangling, join(dir, 'new', 'sub', 'x.db')]) {
    assert.equal(parseRecord({ db }).db, db);
    assert.equal(parseReport({ db }).db, db);
  }
});

test('reader: a directory given to the store API directly is refused, not "disk I/O error", in the store\'s own words', () => {
  const sub = join(dir, 'dir.db');
  mkdirSync(sub);
  let caught: unknown = null;
  assert.throws(
    () => StoreReader.open(sub),
    (e: unknown) => {
      caught = e;
      return (
        e instanceof LoadmonError && e.code === 'E_STORE_MISSING' && e.fields.path === sub && /is a directory/.test(e.fields.reason ?? '')
      );
    },
  );
  // The store names no option (the API shows this message too); the CLI adds the one the path came from.
  assert.doesNotMatch((caught as LoadmonError).message, /--db/);
  const cli = inOptionWords(caught as LoadmonError);
  assert.equal(cli.message, `invalid value for --db: '${sub}' (is a directory, not a store file)`);
  assert.equal(cli.exitStatus, 2);
});

test('lock: a second writer through a symlink to the store is refused, naming the holder', () => {
  const real = join(dir, 'real.db');
  writeFileSync(real, '');
  const link = join(dir, 'link-to-real.db');
  symlinkSync(real, link);
  const held = acquireStoreLock(real);
  try {
    assert.throws(
      () => acquireStoreLock(link),
      (e: unknown) => e instanceof LoadmonError && e.code === 'E_STORE_LOCKED' && e.message.includes(`pid ${process.pid}`),
    );
  } finally {
    held.release();
  }
  // And the other way round, for a store that does not exist yet, through a symlinked directory.
  const realDir = join(dir, 'real-dir');
  mkdirSync(realDir);
  const linkDir = join(dir, 'link-dir');
  symlinkSync(realDir, linkDir);
  const first = acquireStoreLock(join(linkDir, 'new.db'));
  try {
    assert.throws(
      () => acquireStoreLock(join(realDir, 'new.db')),
      (e: unknown) => e instanceof LoadmonError && e.code === 'E_STORE_LOCKED',
    );
    // A dangling symlink locks the file it will create.
    const dangling = join(dir, 'dangling-to-new.db');
    symlinkSync(join(realDir, 'new.db'), dangling);
    assert.throws(
      () => acquireStoreLock(dangling),
      (e: unknown) => e instanceof LoadmonError && e.code === 'E_STORE_LOCKED',
    );
  } finally {
    first.release();
  }
  assert.equal(existsSync(join(realDir, 'new.db.lock')), false, 'released');
});
