/**
 * The recorder's store under abuse: kill -9 while capturing as fast as it
 * can, a second recorder on the same store, a store on a read-only file
 * system that becomes writable again, and a full disk.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { StoreReader } from '../../src/store/reader.ts';
import { runCli } from '../helpers/cli.ts';
import { type Recording, scratch, startRecord, until } from '../helpers/processes.ts';

const { dir, children, mounts } = scratch('loadmon-rec-');

const record = (db: string, ...args: string[]): Recording => startRecord(children, db, ...args);

const storedIds = (stderr: string): number[] => [...stderr.matchAll(/capture (\d+) stored/g)].map((m) => Number(m[1]));

test('kill -9 while capturing: the store opens and holds every capture reported committed', { timeout: 120_000 }, async () => {
  const db = join(dir, 'kill9.db');
  const committed: number[] = [];
  for (let round = 0; round < 3; round++) {
    // Threshold 0 and no cooldown: a capture every 10 ms, so the kill lands mid-write.
    const rec = record(db, '--threshold', '0', '--cooldown', '0s', '--interval', '10ms');
    await until('first capture', () => storedIds(rec.stderr()).length > 0);
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 1500));
    rec.child.kill('SIGKILL');
    await rec.exited;
    committed.push(...storedIds(rec.stderr()));
    const r = StoreReader.open(db);
    try {
      assert.ok(r.integrityOk(), 'quick_check ok');
      const ids = new Set(r.captures(0, 8.64e15).map((c) => c.id));
      for (const id of committed) assert.ok(ids.has(id), `capture ${id} reported stored before the kill is in the store`);
      for (const id of committed) assert.equal(r.snapshot(id).schema, 'loadmon.snapshot/v1');
    } finally {
      r.close();
    }
  }
  assert.ok(committed.length >= 6, `${committed.length} captures`);
});

test('a second record on the same store is refused with one clear line; the first keeps going', { timeout: 60_000 }, async () => {
  const db = join(dir, 'two.db');
  const first = record(db, '--threshold', '1000');
  await until('the lock', () => existsSync(`${db}.lock`) && existsSync(db));
  const second = await runCli(['record', '--db', db, '--threshold', '1000', '--quiet']);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, new RegExp(`already being recorded into by loadmon \\(pid ${first.child.pid}`));
  assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
  assert.doesNotMatch(second.stderr, /\n\s+at /);
  assert.equal(first.child.exitCode, null, 'the first recorder still runs');
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.stderr());
  assert.equal(existsSync(`${db}.lock`), false, 'the lock is released on exit');
});

test('read-only file system: a clear error, watching goes on, nothing stored is lost, and it recovers', { timeout: 90_000 }, async () => {
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  const db = join(ro, 'ro.db');
  const seed = await runCli(['record', '--db', db, '--threshold', '0', '--count', '1', '--source', 'procfs']);
  assert.equal(seed.code, 0, seed.stderr);
  const [before] = storedIds(seed.stderr);
  assert.ok(before);
  // As root, chmod stops nothing: make the directory a read-only bind mount of itself.
  execFileSync('mount', ['--bind', ro, ro]);
  mounts.push(ro);
  execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
  assert.throws(() => writeFileSync(join(ro, 'probe'), 'x'), /EROFS/);

  const rec = record(db, '--threshold', '0', '--cooldown', '1s');
  await until('the read-only report', () => /read-only/.test(rec.stderr()));
  await until('a capture kept in memory', () => /capture kept in memory/.test(rec.stderr()));
  assert.equal(rec.child.exitCode, null, 'still watching');
  const line = rec
    .stderr()
    .split('\n')
    .find((l) => /read-only/.test(l))!;
  assert.match(line, /^loadmon: store .*ro\.db: read-only .*retrying every 5s$/);

  execFileSync('umount', [ro]);
  mounts.pop();
  await until('recovery', () => /writable again/.test(rec.stderr()), 20_000);
  await until('a capture stored after recovery', () => storedIds(rec.stderr()).length > 0, 10_000);
  rec.child.kill('SIGTERM');
  assert.equal(await rec.exited, 0, rec.stderr());

  const r = StoreReader.open(db);
  try {
    assert.ok(r.integrityOk());
    const ids = r.captures(0, 8.64e15).map((c) => c.id);
    assert.ok(ids.includes(before), 'the capture stored before is still there');
    assert.ok(ids.length >= 3, `captures kept in memory were written after recovery: ${ids.join(',')}`);
  } finally {
    r.close();
  }
});

test('full disk: a clear error and the recorder keeps watching', { timeout: 60_000 }, async () => {
  const small = join(dir, 'small');
  mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
  mounts.push(small);
  // Leave almost nothing free.
  try {
    writeFileSync(join(small, 'filler'), Buffer.alloc(1024 * 1024));
  } catch {
    /* ENOSPC: full, as wanted */
  }
  const rec = record(join(small, 'full.db'), '--threshold', '0', '--cooldown', '1s');
  await until('the disk-full report', () => /disk full/.test(rec.stderr()));
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(rec.child.exitCode, null, 'still watching');
  rec.child.kill('SIGTERM');
  assert.equal(await rec.exited, 0, rec.stderr());
});
