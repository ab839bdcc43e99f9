import assert from 'node:assert/strict';
import { test } from 'node:test';

import { findDir } from '../../src/collect/evidence.ts';
import { parseCgroupPaths } from '../../src/procfs/cgroup.ts';
import {
  parseBlkioRw,
  parseCgroupMounts,
  parseCpuMax,
  parseDeviceValues,
  parseFlatKeyed,
  parseIoMax,
  parseIoStat,
  parseV1CpuQuota,
  parseV1MemoryLimit,
  parseV2Limit,
  v1IoCounters,
  v1IoLimits,
} from '../../src/procfs/cgroup-limits.ts';
import { parseDiskstats } from '../../src/procfs/diskstats.ts';
import { parsePressure } from '../../src/procfs/pressure.ts';
import { parseVmstat } from '../../src/procfs/vmstat.ts';
import { fixture } from '../helpers/fixtures.ts';

const ev = (...p: string[]): string => fixture('evidence', ...p);

test('diskstats: a real 6.18 file (20 fields: discards and flushes)', () => {
  const d = parseDiskstats(ev('diskstats.txt'));
  assert.deepEqual(
    d.map((x) => x.name),
    ['loop0', 'loop1', 'loop2', 'loop3', 'loop4', 'loop5', 'loop6', 'loop7', 'vda', 'zram0'],
  );
  const vda = d.find((x) => x.name === 'vda')!;
  assert.deepEqual(vda, {
    major: 254,
    minor: 0,
    name: 'vda',
    reads: 33178,
    sectorsRead: 2121018,
    msReading: 15515,
    writes: 26610,
    sectorsWritten: 3518064,
    msWriting: 12036,
    inFlight: 0,
    ioTicks: 11108,
    weightedMs: 28749,
    discards: 9385,
    msDiscarding: 1032,
    flushes: 4015,
    msFlushing: 165,
  });
});

test('diskstats: 4.14 lines (11 counters) read discards and flushes as 0; partitions are listed too', () => {
  const d = parseDiskstats(ev('diskstats-4.14.txt'));
  assert.deepEqual(
    d.map((x) => [x.name, x.major, x.minor]),
    [
      ['sda', 8, 0],
      ['sda1', 8, 1],
      ['dm-0', 253, 0],
    ],
  );
  const sda = d[0]!;
  assert.equal(sda.inFlight, 2);
  assert.equal(sda.ioTicks, 2500);
  assert.equal(sda.weightedMs, 4500);
  assert.equal(sda.discards, 0);
  assert.equal(sda.flushes, 0);
  assert.equal(sda.msFlushing, 0);
});

test('diskstats: 4.18-5.4 lines (15 counters) have discards but no flushes', () => {
  const d = parseDiskstats(ev('diskstats-5.4.txt'));
  assert.equal(d[0]!.name, 'nvme0n1');
  assert.equal(d[0]!.discards, 40);
  assert.equal(d[0]!.msDiscarding, 12);
  assert.equal(d[0]!.flushes, 0);
});

test('diskstats: short or non-numeric lines are skipped, not read as zeros', () => {
  assert.deepEqual(parseDiskstats('   8 0 sda 1 2 3\n'), []);
  assert.deepEqual(parseDiskstats('   8 0 sda 1 2 3 4 5 6 7 x 9 10 11\n'), []);
  assert.deepEqual(parseDiskstats(''), []);
});

test('vmstat: a real 6.18 file', () => {
  assert.deepEqual(parseVmstat(ev('vmstat.txt')), {
    allocstall: 0,
    pgscanDirect: 0,
    compactStall: 0,
    pgmajfault: 859,
    pswpin: 0,
    workingsetRefault: 38856,
  });
});

test('vmstat: pre-4.8 names (per-zone pgscan_direct_*, one allocstall, workingset_refault); throttle is not a scan', () => {
  assert.deepEqual(parseVmstat(ev('vmstat-4.4.txt')), {
    allocstall: 9,
    pgscanDirect: 3 + 40 + 500,
    compactStall: 4,
    pgmajfault: 700,
    pswpin: 12,
    workingsetRefault: 321,
  });
});

test('vmstat: counters the kernel does not have (no compaction, no swap) count as 0', () => {
  const v = parseVmstat(ev('vmstat-no-compaction.txt'));
  assert.equal(v.compactStall, 0);
  assert.equal(v.pswpin, 0);
  assert.equal(v.pgmajfault, 859);
  assert.equal(parseVmstat('allocstall_normal 5\nallocstall_movable 2\nallocstall_device x\n').allocstall, 7);
});

test('cgroup paths: every hierarchy of a real hybrid file, v1 controllers and the v2 line', () => {
  const c = parseCgroupPaths(ev('pid-cgroup-hybrid.txt'));
  assert.equal(c.length, 10);
  assert.deepEqual(c[5], { hierarchyId: 4, controllers: ['memory'], path: '/process_api/87cb85c5db190b261f2655dafd3fa6b3' });
  assert.deepEqual(c[0], { hierarchyId: 9, controllers: ['name=systemd'], path: '/' });
  assert.deepEqual(c[9], { hierarchyId: 0, controllers: [], path: '/' });
  const docker = parseCgroupPaths(fixture('cgroup', 'v1-docker.txt'));
  assert.deepEqual(docker[1], { hierarchyId: 10, controllers: ['cpu', 'cpuacct'], path: '/docker/4f1c2a' });
  // A cgroup name may contain ':' (only the first two separate fields).
  assert.deepEqual(parseCgroupPaths('0::/a:b\ngarbage\n'), [{ hierarchyId: 0, controllers: [], path: '/a:b' }]);
});

test('mountinfo: the real hybrid layout (v1 per controller, v2 at unified)', () => {
  const m = parseCgroupMounts(ev('mountinfo-hybrid.txt'));
  const mem = m.find((x) => x.controllers.includes('memory'));
  assert.deepEqual(mem, { version: 1, root: '/', mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] });
  assert.deepEqual(
    m.filter((x) => x.version === 2),
    [{ version: 2, root: '/', mountPoint: '/sys/fs/cgroup/unified', controllers: [] }],
  );
  assert.deepEqual(m.find((x) => x.mountPoint.endsWith('systemd'))?.controllers, ['name=systemd']);
  assert.equal(findDir(m, 1, 'memory', '/process_api/x'), '/sys/fs/cgroup/memory/process_api/x');
  assert.equal(findDir(m, 1, 'cpu', '/'), '/sys/fs/cgroup/cpu');
  assert.equal(findDir(m, 2, null, '/a'), '/sys/fs/cgroup/unified/a');
  assert.equal(findDir(m, 1, 'rdma', '/'), null);
});

test('mountinfo: a container sees its own cgroup at the mount point (bind root); escaped names', () => {
  const m = parseCgroupMounts(ev('mountinfo-container-v1.txt'));
  assert.deepEqual(m.find((x) => x.mountPoint === '/sys/fs/cgroup/cpu,cpuacct')?.controllers, ['cpu', 'cpuacct']);
  assert.deepEqual(m.find((x) => x.mountPoint.endsWith('systemd'))?.controllers, ['name=systemd']);
  assert.ok(m.some((x) => x.mountPoint === '/mnt/all memory'));
  // The bind mount of /docker/4f1c2a is the most specific; paths outside it only through the full mount.
  assert.equal(findDir(m, 1, 'cpu', '/docker/4f1c2a'), '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(findDir(m, 1, 'memory', '/docker/4f1c2a/sub'), '/sys/fs/cgroup/memory/sub');
  assert.equal(findDir(m, 1, 'memory', '/other'), '/mnt/all memory/other');
  assert.equal(findDir(m, 1, 'cpu', '/docker/4f1c2ab'), null);
});

test('mountinfo: a pure v2 host', () => {
  const m = parseCgroupMounts(ev('mountinfo-v2.txt'));
  assert.deepEqual(m, [{ version: 2, root: '/', mountPoint: '/sys/fs/cgroup', controllers: [] }]);
  assert.equal(findDir(m, 2, null, '/system.slice/x.service'), '/sys/fs/cgroup/system.slice/x.service');
  assert.equal(findDir(m, 1, 'memory', '/'), null);
});

test('v1 memory files of a real cgroup at its limit', () => {
  assert.equal(parseV1MemoryLimit(ev('v1', 'memory.limit_in_bytes')), 33554432);
  assert.equal(parseV1MemoryLimit(ev('v1', 'memory.limit_in_bytes.unlimited')), null);
  assert.equal(parseV1MemoryLimit('garbage'), null);
});

test('v1 blkio throttle files of a real throttled writer', () => {
  const limits = v1IoLimits(
    ev('v1', 'blkio.throttle.read_bps_device'),
    ev('v1', 'blkio.throttle.write_bps_device'),
    ev('v1', 'blkio.throttle.read_iops_device'),
    ev('v1', 'blkio.throttle.write_iops_device'),
  );
  assert.deepEqual([...limits], [['254:0', { rbps: null, wbps: 1048576, riops: 200, wiops: null }]]);
  const counters = v1IoCounters(ev('v1', 'blkio.throttle.io_service_bytes'), ev('v1', 'blkio.throttle.io_serviced'));
  assert.deepEqual([...counters], [['254:0', { rbytes: 0, wbytes: 2949120, rios: 0, wios: 45 }]]);
  assert.deepEqual([...parseBlkioRw('Total 5\n8:0 Read 1\n8:0 Write x\n')], [['8:0', { read: 1, write: 0 }]]);
  assert.deepEqual([...parseDeviceValues('8:0 100\nbad 5\n8:1 -3\n')], [['8:0', 100]]);
});

test('v1 cpu files of a real throttled busy loop', () => {
  assert.deepEqual(parseV1CpuQuota(ev('v1', 'cpu.cfs_quota_us'), ev('v1', 'cpu.cfs_period_us')), { quotaUs: 10000, periodUs: 100000 });
  assert.equal(parseV1CpuQuota('-1\n', '100000\n'), null);
  const stat = parseFlatKeyed(ev('v1', 'cpu.stat'));
  assert.equal(stat.get('nr_periods'), 23);
  assert.equal(stat.get('nr_throttled'), 18);
  assert.equal(stat.get('throttled_time'), 1308578192);
});

test('v2 memory files (cgroup-v2.rst)', () => {
  assert.equal(parseV2Limit(ev('v2', 'memory.max')), 67108864);
  assert.equal(parseV2Limit(ev('v2', 'memory.high')), null);
  const events = parseFlatKeyed(ev('v2', 'memory.events'));
  assert.equal(events.get('max'), 1234);
  assert.equal(events.get('oom_kill'), 1);
  assert.equal(parsePressure(ev('v2', 'memory.pressure')).full?.avg10, 35.2);
});

test('v2 io.max and io.stat (cgroup-v2.rst): "max" is no limit, a device with none is left out', () => {
  const max = parseIoMax(ev('v2', 'io.max'));
  assert.deepEqual(
    [...max],
    [
      ['254:0', { rbps: null, wbps: 1048576, riops: null, wiops: null }],
      ['8:16', { rbps: 2097152, wbps: null, riops: null, wiops: 120 }],
    ],
  );
  const stat = parseIoStat(ev('v2', 'io.stat'));
  assert.deepEqual(stat.get('254:0'), { rbytes: 1459200, wbytes: 314773504, rios: 192, wios: 353 });
  assert.deepEqual(stat.get('8:16'), { rbytes: 90112, wbytes: 299008, rios: 8, wios: 28 });
});

test('v2 cpu.max and cpu.stat', () => {
  assert.deepEqual(parseCpuMax(ev('v2', 'cpu.max')), { quotaUs: 20000, periodUs: 100000 });
  assert.equal(parseCpuMax(ev('v2', 'cpu.max.unlimited')), null);
  assert.equal(parseCpuMax('0 100000'), null);
  const stat = parseFlatKeyed(ev('v2', 'cpu.stat'));
  assert.equal(stat.get('throttled_usec'), 4000000);
  assert.equal(stat.get('nr_throttled'), 45);
});
