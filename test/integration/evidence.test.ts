/**
 * EvidenceSampler on the real kernel, as root: real workloads (dd, cat, a
 * shell busy loop) in real v1 cgroups with limits, and what the sampler saw
 * over a window of a few seconds. Every case cleans up after itself (kills
 * its processes, removes its cgroups and files) also when an assert fails.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';

import { EvidenceSampler } from '../../src/collect/evidence.ts';
import type { Evidence } from '../../src/model/evidence.ts';
import { parseCgroupMounts } from '../../src/procfs/cgroup-limits.ts';

const IS_ROOT = process.getuid?.() === 0;
const SCRATCH = '/var/tmp';
const tag = `loadmon-ev-${process.pid}`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Where the v1 hierarchy with this controller is mounted (root '/'), or null. */
function v1Mount(controller: string): string | null {
  const mounts = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  return mounts.find((m) => m.version === 1 && m.root === '/' && m.controllers.includes(controller))?.mountPoint ?? null;
}

/** The whole disk (MAJ:MIN) holding a path: st_dev, or its parent disk when st_dev is a partition. */
function diskOf(path: string): string {
  const dev = statSync(path).dev;
  // Linux new_encode_dev: minor's low 8 bits, major's 12 bits, minor's high 12 bits.
  const node = `${(dev >> 8) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
  const sys = `/sys/dev/block/${node}`;
  if (!existsSync(`${sys}/partition`)) return node;
  return readFileSync(join(dirname(realpathSync(sys)), 'dev'), 'utf8').trim();
}

/** A shell command in its own process group, optionally moving itself into cgroups first. */
function run(cmd: string, cgroups: string[] = []): ChildProcess {
  const join_ = cgroups.map((g) => `echo $$ > ${g}/cgroup.procs && `).join('');
  return spawn('sh', ['-c', `${join_}exec sh -c '${cmd.replaceAll("'", "'\\''")}'`], { detached: true, stdio: 'ignore' });
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  try {
    process.kill(-p.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await Promise.race([gone, sleep(5000)]);
}

/** rmdir a cgroup, retrying while its last tasks finish exiting (bounded). */
async function removeCgroup(dir: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await sleep(50);
    }
  }
  throw new Error(`could not remove cgroup ${dir}`);
}

/** Evidence over a window of `ms`, started once the workload ran for `warmMs`. */
async function windowOf(pids: number[], warmMs: number, ms: number): Promise<Evidence> {
  const s = new EvidenceSampler();
  await sleep(warmMs);
  assert.equal(s.sample(Date.now(), pids), null);
  await sleep(ms);
  const e = s.sample(Date.now(), pids);
  assert.ok(e, 'a window after the second call');
  return e;
}

test("direct-I/O writes show on the file system's disk", { skip: !IS_ROOT && 'needs root' }, async (t) => {
  const file = join(SCRATCH, `${tag}-dio`);
  const dd = run(`while :; do dd if=/dev/zero of=${file} bs=64k count=256 oflag=direct conv=notrunc status=none; done`);
  try {
    const e = await windowOf([dd.pid!], 500, 2500);
    const dev = diskOf(SCRATCH);
    const d = e.devices.find((x) => x.dev === dev);
    assert.ok(d, `device ${dev} in ${JSON.stringify(e.devices.map((x) => x.dev))}`);
    t.diagnostic(JSON.stringify(d));
    assert.ok(d.writes_s > 0, `writes_s ${d.writes_s}`);
    assert.ok(d.write_kib_s > 0, `write_kib_s ${d.write_kib_s}`);
    assert.ok(d.util > 0 && d.util <= 1, `util ${d.util}`);
    assert.ok(d.await_ms !== null && d.await_ms >= 0, `await_ms ${d.await_ms}`);
    assert.ok(e.memory, 'vmstat read');
  } finally {
    await stop(dd);
    rmSync(file, { force: true });
  }
});

test('page-cache readers in a 32 MiB v1 memory cgroup: memory limit reached', { skip: skipUnless('memory') }, async (t) => {
  const cg = join(v1Mount('memory')!, `${tag}-mem`);
  const file = join(SCRATCH, `${tag}-256m`);
  let reader: ChildProcess | null = null;
  try {
    // Written with O_DIRECT so that none of it is cached (and charged) before the reader runs.
    await exited(run(`dd if=/dev/zero of=${file} bs=1M count=256 oflag=direct status=none`));
    mkdirSync(cg);
    writeFileSync(join(cg, 'memory.limit_in_bytes'), String(32 * 2 ** 20));
    reader = run(`while :; do cat ${file} > /dev/null; done`, [cg]);
    const e = await windowOf([reader.pid!], 1000, 2000);
    const c = e.cgroups.find((x) => x.limit === 'memory' && x.path === `/${basename(cg)}`);
    assert.ok(c, `cgroup reported: ${JSON.stringify(e.cgroups)}`);
    t.diagnostic(c.detail);
    assert.equal(c.hierarchy, 'v1');
    assert.equal(c.at_limit, true, c.detail);
    assert.ok(c.ratio !== null && c.ratio > 0.5 && c.ratio <= 1.01, `ratio ${c.ratio}`);
    assert.match(c.detail, /^memory: [\d.]+ MiB used of a 32\.0 MiB limit, [\d.]+ limit hits\/s$/);
  } finally {
    if (reader) await stop(reader);
    await removeCgroup(cg);
    rmSync(file, { force: true });
  }
});

test('a direct-I/O writer in a v1 blkio cgroup throttled to 1 MiB/s: io limit reached', { skip: skipUnless('blkio') }, async (t) => {
  const cg = join(v1Mount('blkio')!, `${tag}-io`);
  const file = join(SCRATCH, `${tag}-throttled`);
  let dd: ChildProcess | null = null;
  try {
    const dev = diskOf(SCRATCH);
    mkdirSync(cg);
    writeFileSync(join(cg, 'blkio.throttle.write_bps_device'), `${dev} 1048576`);
    dd = run(`while :; do dd if=/dev/zero of=${file} bs=64k count=1024 oflag=direct conv=notrunc status=none; done`, [cg]);
    const e = await windowOf([dd.pid!], 1000, 3000);
    const c = e.cgroups.find((x) => x.limit === 'io' && x.path === `/${basename(cg)}`);
    assert.ok(c, `cgroup reported: ${JSON.stringify(e.cgroups)}`);
    t.diagnostic(c.detail);
    assert.equal(c.dev, dev);
    assert.equal(c.at_limit, true, c.detail);
    assert.ok(c.ratio !== null && c.ratio >= 0.8, `ratio ${c.ratio} (${c.detail})`);
    assert.match(c.detail, new RegExp(`^io: writes [\\d.]+ MiB/s on ${dev} at its limit of 1\\.00 MiB/s`));
  } finally {
    if (dd) await stop(dd);
    await removeCgroup(cg);
    rmSync(file, { force: true });
  }
});

test('a busy loop in a v1 cpu cgroup with 10 ms per 100 ms: cpu limit reached', { skip: skipUnless('cpu') }, async (t) => {
  const cg = join(v1Mount('cpu')!, `${tag}-cpu`);
  let spin: ChildProcess | null = null;
  try {
    mkdirSync(cg);
    writeFileSync(join(cg, 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(cg, 'cpu.cfs_quota_us'), '10000');
    spin = run('while :; do :; done', [cg]);
    const e = await windowOf([spin.pid!], 500, 2000);
    const c = e.cgroups.find((x) => x.limit === 'cpu' && x.path === `/${basename(cg)}`);
    assert.ok(c, `cgroup reported: ${JSON.stringify(e.cgroups)}`);
    t.diagnostic(c.detail);
    assert.equal(c.at_limit, true, c.detail);
    assert.ok(c.ratio !== null && c.ratio > 0.5, `ratio ${c.ratio}`);
    assert.ok(c.rate !== null && c.rate > 0, `rate ${c.rate}`);
    assert.match(c.detail, /\(quota 10 ms per 100 ms\)$/);
  } finally {
    if (spin) await stop(spin);
    await removeCgroup(cg);
  }
});

function skipUnless(controller: string): string | false {
  if (!IS_ROOT) return 'needs root (creates cgroups)';
  return v1Mount(controller) === null ? `no v1 ${controller} hierarchy mounted` : false;
}

function exited(p: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}
