/**
 * The store's edge cases (issue 11, items 4-7), through the CLI as a user
 * runs it: a second recorder through a symlink, stores that can only be
 * read (another user's, a read-only mount, a copy with a -wal and no -shm),
 * damaged stores, a full disk that frees up, and --db naming a device or a
 * directory. Runs as root (mounts, runuser); cleans up its mounts.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import type { Report } from '../../src/model/report.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { CLI, runCli } from '../helpers/cli.ts';
import { type Recording, scratch, startServe as serve, startRecord, until } from '../helpers/processes.ts';
import { SESSION } from '../helpers/store.ts';
import { writeFixtureStore } from '../helpers/web.ts';

const { dir, children, mounts } = scratch('loadmon-e2e-store-');
// Parents must be traversable by the unprivileged user of the read-only tests.
chmodSync(dir, 0o755);

const record = (db: string, ...args: string[]): Recording => startRecord(children, db, ...args);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function roBindMount(path: string): void {
  execFileSync('mount', ['--bind', path, path]);
  mounts.push(path);
  execFileSync('mount', ['-o', 'remount,bind,ro', path]);
}

function unmount(path: string): void {
  execFileSync('umount', [path]);
  mounts.splice(mounts.indexOf(path), 1);
}

/** A store as a recorder killed mid-run leaves it: WAL mode, the last capture (13) only in the -wal. */
function leaveUnclean(db: string): void {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  execFileSync(process.execPath, [
    '-e',
    `const D = require(${JSON.stringify(sqlite)});
     const d = new D(${JSON.stringify(db)});
     d.pragma('wal_autocheckpoint = 0');
     d.exec('INSERT INTO captures (t_ms, session_id, source, load1, r, d, context_from_ms, snapshot)' +
       ' SELECT t_ms + 1000, session_id, source, load1, r, d, context_from_ms, snapshot FROM captures WHERE id = 12');
     process.exit(0);`,
  ]);
}

const startServe = (db: string) => serve(['--db', db, '--listen', '127.0.0.1:0'], { children });

test('item 4: a second recorder through a symlink to the store is refused, naming the first', { timeout: 60_000 }, async () => {
  const real = join(dir, 'real.db');
  const link = join(dir, 'link.db');
  symlinkSync(real, link);
  const first = record(real, '--threshold', '1000');
  await until('the first recorder', () => /recording into/.test(first.stderr()));
  const second = await runCli(['record', '--db', link, '--threshold', '1000', '--quiet', '--source', 'procfs'], { timeoutMs: 20_000 });
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, new RegExp(`already being recorded into by loadmon \\(pid ${first.child.pid}`));
  assert.equal(first.child.exitCode, null, 'the first recorder still runs');
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.stderr());
});

test("item 5: report reads a store it can only read: another user's (0444 in a 0555 directory), and on a read-only mount", {
  timeout: 90_000,
}, async () => {
  const copies = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('loadmon-read-'));
  const copiesBefore = copies();
  const ro = join(dir, 'readonly');
  mkdirSync(ro);
  const clean = join(ro, 'clean.db');
  writeFixtureStore(clean);
  const unclean = join(ro, 'unclean.db');
  writeFixtureStore(unclean);
  leaveUnclean(unclean);
  rmSync(`${unclean}-shm`); // copied off the incident machine without it
  assert.ok(existsSync(`${unclean}-wal`));
  assert.equal(existsSync(`${clean}-shm`) || existsSync(`${clean}-wal`), false, 'closed cleanly');

  chmodSync(clean, 0o444);
  chmodSync(ro, 0o555);
  const asNobody = ['-u', 'nobody', '--', process.execPath, CLI, 'report', '--db', clean, '--format', 'json'];
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const c = spawn('runuser', asNobody, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as Report).captures.length, 12);
  chmodSync(ro, 0o755);
  assert.equal(existsSync(`${clean}-shm`), false, 'the reader wrote nothing next to the store');

  roBindMount(ro);
  for (const [db, n] of [
    [clean, 12],
    [unclean, 13],
  ] as const) {
    const rep = await runCli(['report', '--db', db, '--format', 'json']);
    assert.equal(rep.code, 0, `${db}: ${rep.stderr}`);
    // 13: the last commit of the unclean store, in its -wal, is read too.
    assert.equal((JSON.parse(rep.stdout) as Report).captures.length, n, db);
  }
  assert.deepEqual(readdirSync(ro).sort(), ['clean.db', 'unclean.db', 'unclean.db-wal']);
  assert.deepEqual(copies(), copiesBefore, 'the private copies are removed on close');

  // serve reads it the same way (GET /api/report).
  for (const [db, n] of [
    [clean, 12],
    [unclean, 13],
  ] as const) {
    const { child, url } = await startServe(db);
    const res = await fetch(`${url}api/report`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as Report).captures.length, n, db);
    child.kill('SIGTERM');
  }
  // A reader of a copy learns when the store changed (serve can reopen it then).
  const held = StoreReader.open(clean);
  assert.equal(held.stale(), false);
  unmount(ro);
  assert.equal(held.stale(), false);
  chmodSync(clean, 0o644);
  const w = StoreWriter.open(clean);
  w.beginSession(SESSION);
  w.close();
  assert.equal(held.stale(), true);
  held.close();
});

/** Overwrites every page but the first two (header, schema, pointer map) with garbage. */
function damagePages(db: string): void {
  const size = statSync(db).size;
  const page = 4096;
  assert.ok(size >= 8 * page, `a store of ${size} bytes has pages to damage`);
  const fd = openSync(db, 'r+');
  try {
    for (let off = 2 * page; off < size; off += page) writeSync(fd, Buffer.alloc(page, 0xa5), 0, page, off);
  } finally {
    closeSync(fd);
  }
}

test('item 6: report on a damaged store is E_STORE_CORRUPT naming the path; record moves it aside and records into a new one', {
  timeout: 60_000,
}, async () => {
  const db = join(dir, 'damaged.db');
  writeFixtureStore(db);
  damagePages(db);

  const rep = await runCli(['report', '--db', db]);
  assert.equal(rep.code, 1, rep.stderr);
  assert.doesNotMatch(rep.stderr, /internal error/);
  assert.match(rep.stderr, new RegExp(`^loadmon: store ${db} is damaged \\(database disk image is malformed\\)\\n$`));

  const rec = record(db, '--threshold', '0', '--cooldown', '1s');
  await until('a capture stored in the new store', () => /capture \d+ stored/.test(rec.stderr()), 30_000);
  rec.child.kill('SIGTERM');
  assert.equal(await rec.exited, 0, rec.stderr());
  const moved = readdirSync(dir).filter((f) => /^damaged\.db\.corrupt-\d{8}T\d{6}Z$/.test(f));
  assert.equal(moved.length, 1, readdirSync(dir).join(' '));
  assert.match(
    rec.stderr(),
    new RegExp(`store ${db} is damaged \\(.*\\); moved it aside to ${join(dir, moved[0]!)} and started a new store`),
  );
  assert.doesNotMatch(rec.stderr(), /writable again|retrying/);
  const after = await runCli(['report', '--db', db, '--format', 'json']);
  assert.equal(after.code, 0, after.stderr);
  assert.ok((JSON.parse(after.stdout) as Report).captures.length >= 1);
});

test('item 6: a file that is not a database at all is left alone: record and report exit 1 naming it', { timeout: 30_000 }, async () => {
  const db = join(dir, 'notes.txt');
  const text = 'not a database\n'.repeat(400);
  writeFileSync(db, text);
  const rec = await runCli(['record', '--db', db, '--threshold', '1000', '--source', 'procfs', '--quiet'], { timeoutMs: 20_000 });
  assert.equal(rec.code, 1, rec.stderr);
  assert.match(
    rec.stderr,
    new RegExp(`^loadmon: store ${db} is not a SQLite database: left untouched, give --db another path \\(file is not a database\\)\n$`),
  );
  const rep = await runCli(['report', '--db', db]);
  assert.equal(rep.code, 1, rep.stderr);
  assert.match(rep.stderr, new RegExp(`^loadmon: store ${db} is not a SQLite database`));
  assert.equal(statSync(db).size, text.length, 'untouched');
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('notes.txt')),
    ['notes.txt'],
  );
});

test('item 6: a full disk that frees up: "writable again" only once a write succeeded', { timeout: 90_000 }, async () => {
  const small = join(dir, 'small');
  mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
  mounts.push(small);
  const rec = record(join(small, 'full.db'), '--threshold', '0', '--cooldown', '1s');
  await until('a capture stored', () => /capture \d+ stored/.test(rec.stderr()));
  const filler = join(small, 'filler');
  try {
    writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
  } catch {
    /* ENOSPC: full, as wanted */
  }
  await until('the disk-full report', () => /disk full/.test(rec.stderr()), 30_000);
  // Two retries while still full.
  await sleep(11_000);
  assert.doesNotMatch(rec.stderr(), /writable again/);
  assert.equal(rec.stderr().match(/disk full/g)!.length, 1, rec.stderr());
  unlinkSync(filler);
  await until('recovery', () => /writable again/.test(rec.stderr()), 20_000);
  rec.child.kill('SIGTERM');
  assert.equal(await rec.exited, 0, rec.stderr());
  const lines = rec
    .stderr()
    .split('\n')
    .filter((l) => /disk full|writable again/.test(l));
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[1]!, /writable again; wrote \d+ sample\(s\) and \d+ capture\(s\) kept in memory/);
});

test('item 7: --db naming a device or a directory exits 2 naming --db, and creates nothing', async () => {
  const sub = join(dir, 'a-directory');
  mkdirSync(sub);
  for (const args of [
    ['record', '--db', '/dev/null', '--threshold', '1000'],
    ['record', '--db', sub, '--threshold', '1000'],
    ['report', '--db', '/dev/null'],
    ['report', '--db', sub],
  ]) {
    const r = await runCli(args, { timeoutMs: 20_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^loadmon: invalid value for --db: '.*' \((is a directory|not a regular file)/);
  }
  assert.equal(existsSync('/dev/null-journal'), false);
  assert.equal(existsSync('/dev/null-wal'), false);
  assert.deepEqual(readdirSync(sub), []);
});
