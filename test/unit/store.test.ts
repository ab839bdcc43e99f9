import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import Database from 'better-sqlite3';

import { LoadmonError } from '../../src/errors.ts';
import { acquireStoreLock, lockPathFor } from '../../src/store/lock.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { liveBytes } from '../../src/store/retention.ts';
import { SCHEMA_VERSION } from '../../src/store/schema.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { SESSION, sample, snapshot } from '../helpers/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const DAY = 86_400_000;

test('store: schema is created from an empty file, and reopening does not migrate again', () => {
  const path = join(dir, 'empty.db');
  writeFileSync(path, '');
  const w = StoreWriter.open(path, 1000);
  w.beginSession(SESSION);
  w.close();
  const db = new Database(path, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('auto_vacuum', { simple: true }), 2, 'incremental auto_vacuum');
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map(
    (r) => r.name,
  );
  for (const t of ['captures', 'meta', 'procs', 'sample_procs', 'samples', 'sessions']) assert.ok(tables.includes(t), t);
  assert.deepEqual(db.prepare("SELECT value FROM meta WHERE key = 'store'").get(), { value: 'loadmon.store' });
  db.close();
  const again = StoreWriter.open(path, 2000);
  again.close();
  const r = StoreReader.open(path);
  assert.equal(r.schemaVersion(), SCHEMA_VERSION);
  assert.equal(r.sessions().length, 1);
  r.close();
});

test('store: a store from a newer loadmon is refused with E_STORE_VERSION', () => {
  const path = join(dir, 'future.db');
  StoreWriter.open(path).close();
  const db = new Database(path);
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  assert.throws(
    () => StoreWriter.open(path),
    (e: unknown) => e instanceof LoadmonError && e.code === 'E_STORE_VERSION' && /newer/.test(e.message),
  );
});

test('store: samples, per-process counts and captures round-trip', () => {
  const path = join(dir, 'rt.db');
  const w = StoreWriter.open(path);
  w.beginSession(SESSION);
  w.insertSample(
    sample(10_000, 4.25, [
      { pid: 7, comm: 'a', r: 2, d: 1 },
      { pid: 8, comm: 'b', r: 0, d: 3, cgroup: '/b' },
    ]),
  );
  w.insertSample(sample(11_000, 4.5, null));
  const snap = snapshot(11_500, [{ pid: 7, state: 'D', stack: ['io_schedule+0x1/0x2'] }]);
  const id = w.insertCapture(snap);
  w.close();
  const r = StoreReader.open(path);
  assert.deepEqual(r.snapshot(id), snap);
  const curve = r.loadCurve(0, 20_000)!;
  assert.equal(curve.samples, 2);
  assert.equal(curve.max, 4.5);
  assert.equal(curve.scanned, 1);
  const totals = r.processTotals(0, 20_000).sort((a, b) => a.pid - b.pid);
  assert.deepEqual(totals, [
    { pid: 7, comm: 'a', cgroup: '/test.slice', r: 2, d: 1 },
    { pid: 8, comm: 'b', cgroup: '/b', r: 0, d: 3 },
  ]);
  assert.equal(r.pressurePeaks(0, 20_000).cpuSome, 12.5);
  assert.throws(
    () => r.snapshot(id + 1),
    (e: unknown) => e instanceof LoadmonError && e.code === 'E_CAPTURE_NOT_FOUND',
  );
  r.close();
});

test('store: retention by age drops old data but keeps the 60 s context of a kept capture', () => {
  const path = join(dir, 'age.db');
  const w = StoreWriter.open(path);
  w.beginSession(SESSION);
  const now = 10 * DAY;
  for (let t = now - 8 * DAY; t <= now; t += 3_600_000) w.insertSample(sample(t, 1, [{ pid: 1, comm: 'x', r: 1, d: 0 }]));
  // Context samples just before the age cut, for a capture just after it.
  const cut = now - 7 * DAY;
  for (let t = cut - 50_000; t < cut; t += 10_000) w.insertSample(sample(t, 5, [{ pid: 2, comm: 'y', r: 0, d: 5 }]));
  w.insertCapture(snapshot(cut - 2 * DAY, [{ pid: 3, state: 'R' }]));
  const keptId = w.insertCapture(snapshot(cut + 5_000, [{ pid: 2, state: 'D' }]));
  const res = w.enforceRetention({ retainMs: 7 * DAY, maxBytes: 1 << 30 }, now);
  w.close();
  assert.equal(res.capturesDeleted, 1);
  const r = StoreReader.open(path);
  assert.deepEqual(
    r.captures(0, now).map((c) => c.id),
    [keptId],
  );
  const samples = r.samples(0, now);
  assert.ok(
    samples.every((s) => s.t >= cut + 5_000 - 60_000),
    'nothing older than the kept capture context',
  );
  assert.equal(samples.filter((s) => s.t < cut).length, 5, 'the context samples before the cut are kept');
  assert.equal(r.contextSummary(cut + 5_000 - 60_000, cut + 5_000).maxLoad1, 5);
  r.close();
});

test('store: retention by size keeps the store under --max-size, dropping the oldest first', () => {
  const path = join(dir, 'size.db');
  const w = StoreWriter.open(path);
  w.beginSession(SESSION);
  const procs = Array.from({ length: 8 }, (_, i) => ({ pid: 100 + i, comm: `worker-${i}`, r: 1, d: 1 }));
  for (let t = 0; t < 20_000; t++) w.insertSample(sample(t * 1000, 3, procs));
  for (let i = 0; i < 20; i++) w.insertCapture(snapshot(i * 1_000_000, [{ pid: 5, state: 'D', stack: ['a+0x1/0x2', 'b+0x1/0x2'] }]));
  const max = 512 * 1024;
  const res = w.enforceRetention({ retainMs: 365 * DAY, maxBytes: max }, 20_000_000);
  w.close();
  assert.ok(res.samplesDeleted > 0 && res.capturesDeleted > 0, JSON.stringify(res));
  assert.ok(res.bytes <= max, `${res.bytes} > ${max}`);
  const r = StoreReader.open(path);
  const s = r.samples(0, 1e12);
  assert.equal(s[s.length - 1]!.t, 19_999_000, 'the newest sample is kept');
  assert.ok(s[0]!.t > 0, 'the oldest sample is gone');
  const caps = r.captures(0, 1e12);
  assert.equal(caps[caps.length - 1]!.t, 19_000_000, 'the newest capture is kept');
  r.close();
  const db = new Database(path);
  assert.ok(liveBytes(db) <= max);
  db.close();
});

test('store v2: time blocked in D per process and stack round-trips, is summed over a period, and ages out', () => {
  const path = join(dir, 'offcpu.db');
  const w = StoreWriter.open(path);
  w.beginSession({ ...SESSION, source: 'bpf', scanAbove: 0 });
  const vfork = ['kernel_clone+0x1d3/0x400', '__do_sys_vfork+0x66/0x90'];
  const flush = ['submit_bio_wait+0x74/0xc0', 'blkdev_issue_flush+0x7c/0xb0'];
  for (let i = 0; i < 3; i++) {
    const s = sample(10_000 + i * 1000, 2, [{ pid: 7, comm: 'vf', r: 0, d: 1 }]);
    s.offcpu = {
      windowMs: 1000,
      entries: [
        { pid: 7, comm: 'vf', cgroup: '/test.slice', stack: vfork, ms: 1000, ended: 0 },
        // Two threads of one process in one stack become one row.
        { pid: 9, comm: 'db', cgroup: '/db.slice', stack: flush, ms: 12.5, ended: 4 },
        { pid: 9, comm: 'db', cgroup: '/db.slice', stack: flush, ms: 7.5, ended: 2 },
      ],
    };
    w.insertSample(s);
  }
  w.insertSample(sample(13_000, 2, null)); // a sample without the tracking
  w.close();
  const r = StoreReader.open(path);
  assert.deepEqual(r.offcpuCoverage(0, 20_000), { samples: 3, ms: 3000 });
  const totals = r.offcpuTotals(0, 20_000);
  assert.deepEqual(
    totals.map((t) => [t.pid, t.stack[0], t.ms, t.ended]),
    [
      [7, 'kernel_clone+0x1d3/0x400', 3000, 0],
      [9, 'submit_bio_wait+0x74/0xc0', 60, 18],
    ],
  );
  assert.deepEqual(r.blockedAt(11_000), { windowMs: 1000, blockedMs: 1020 });
  assert.equal(r.blockedAt(13_000), null);
  r.close();
  // Retention drops the rows with their samples, and the stacks no row uses any more.
  const w2 = StoreWriter.open(path);
  w2.enforceRetention({ retainMs: 1000, maxBytes: 1 << 30 }, 13_000 + 130_000);
  w2.close();
  const db = new Database(path, { readonly: true });
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM sample_offcpu').get() as { n: number }).n, 0);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM stacks').get() as { n: number }).n, 0);
  db.close();
});

test('store v3: evidence (scanned samples only) and wait-for chains round-trip; the report cites them', () => {
  const path = join(dir, 'evidence.db');
  const w = StoreWriter.open(path);
  w.beginSession({ ...SESSION, source: 'bpf', scanAbove: 0 });
  const evidence = {
    window_ms: 1000,
    devices: [
      {
        name: 'vda',
        dev: '254:0',
        util: 0.9,
        reads_s: 0,
        writes_s: 900,
        read_kib_s: 0,
        write_kib_s: 3600,
        await_ms: 1.5,
        in_flight: 3,
        queue: 2,
      },
    ],
    memory: null,
    cgroups: [],
  };
  const chain = {
    key: 'inode:254:0:12',
    wait_ms: 800,
    lock: { kind: 'rwsem' as const, address: null, name: 'i_rwsem of inode 12 on vda' },
    waiters: 0.8,
    waiter_threads: 3,
    waiter_processes: [{ pid: 9, comm: 'db' }],
    holder: { pid: 9, tid: 10, comm: 'db', state: 'D', stack: ['submit_bio_wait'] },
    holder_cause: 'block I/O / writeback, waiting for bio',
    other_holders: 0,
  };
  for (let i = 0; i < 3; i++)
    w.insertSample({ ...sample(20_000 + i * 1000, 4, [{ pid: 9, comm: 'db', r: 0, d: 3 }]), evidence, chains: [chain] });
  w.insertSample({ ...sample(23_000, 0.2, null), evidence }); // not scanned: its evidence is not kept
  w.close();
  const r = StoreReader.open(path);
  assert.equal(r.schemaVersion(), SCHEMA_VERSION);
  assert.deepEqual([...r.evidence(0, 30_000, 100)], [evidence, evidence, evidence]);
  assert.equal([...r.evidence(0, 30_000, 1)].length, 1, 'at most `limit` samples, spread over the period');
  assert.deepEqual(
    [...r.chains(0, 30_000)].map((c) => [c.t, c.chains[0]!.key]),
    [
      [20_000, 'inode:254:0:12'],
      [21_000, 'inode:254:0:12'],
      [22_000, 'inode:254:0:12'],
    ],
  );
  r.close();
});

test('store: a version-1 store is migrated by the writer; the reader reads it either way', () => {
  const path = join(dir, 'v1.db');
  const w = StoreWriter.open(path);
  w.beginSession(SESSION);
  w.insertSample(sample(10_000, 3, [{ pid: 7, comm: 'a', r: 1, d: 1 }]));
  w.close();
  // Make it what loadmon 0.1 wrote: no v2, v3 or v4 objects, user_version 1.
  const db = new Database(path);
  db.exec(
    'DROP TABLE sample_offcpu; DROP TABLE stacks; ALTER TABLE samples DROP COLUMN offcpu; ' +
      'ALTER TABLE samples DROP COLUMN evidence; ALTER TABLE samples DROP COLUMN chains; ALTER TABLE samples DROP COLUMN d_causes;',
  );
  db.pragma('user_version = 1');
  db.close();
  const old = StoreReader.open(path);
  assert.equal(old.schemaVersion(), 1);
  assert.deepEqual(old.offcpuTotals(0, 20_000), []);
  assert.deepEqual(old.offcpuCoverage(0, 20_000), { samples: 0, ms: 0 });
  assert.deepEqual([...old.evidence(0, 20_000, 10)], []);
  assert.deepEqual([...old.chains(0, 20_000)], []);
  old.close();
  const w2 = StoreWriter.open(path);
  w2.useSession(1);
  const s = sample(11_000, 3, null);
  s.offcpu = { windowMs: 1000, entries: [] };
  w2.insertSample(s);
  w2.close();
  const r = StoreReader.open(path);
  assert.equal(r.schemaVersion(), SCHEMA_VERSION);
  assert.equal(r.loadCurve(0, 20_000)!.samples, 2, 'the old sample is kept');
  assert.deepEqual(r.offcpuCoverage(0, 20_000), { samples: 1, ms: 1000 });
  r.close();
});

test('lock: a second writer is refused while the first lives; a stale lock is taken over', () => {
  const path = join(dir, 'lock.db');
  const l = acquireStoreLock(path);
  assert.throws(
    () => acquireStoreLock(path),
    (e: unknown) => e instanceof LoadmonError && e.code === 'E_STORE_LOCKED' && e.message.includes(`pid ${process.pid}`),
  );
  l.release();
  assert.equal(existsSync(lockPathFor(path)), false);
  // A lock left by a process that no longer exists (pid max is below 2^22).
  writeFileSync(lockPathFor(path), '4194303 12345\n');
  const l2 = acquireStoreLock(path);
  assert.match(readFileSync(lockPathFor(path), 'utf8'), new RegExp(`^${process.pid} `));
  l2.release();
  // Our own pid but another start time: the pid was reused after a crash.
  writeFileSync(lockPathFor(path), `${process.ppid} 1\n`);
  acquireStoreLock(path).release();
});
