/**
 * EvidenceSampler over a fake /proc, /sys and /sys/fs/cgroup in a temp dir:
 * two calls with changed counters must give exact figures.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';

import { EvidenceSampler, LIMITS_TTL_MS, MAX_CGROUPS } from '../../src/collect/evidence.ts';
import { fixture } from '../helpers/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'loadmon-evidence-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A fresh tree: { root, put(relPath, text) }; proc, sys and cgroup live under root. */
function tree(): { root: string; put: (rel: string, text: string) => void; sampler: () => EvidenceSampler } {
  const root = join(tmp, `t${n++}`);
  const put = (rel: string, text: string): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  const sampler = (): EvidenceSampler =>
    new EvidenceSampler({ procRoot: join(root, 'proc'), sysRoot: join(root, 'sys'), cgroupRoot: join(root, 'cgroup') });
  return { root, put, sampler };
}

const HYBRID_MOUNTS = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  '',
].join('\n');

function v1Membership(mem: string, blkio: string, cpu: string): string {
  return `12:memory:${mem}\n11:blkio:${blkio}\n10:cpu,cpuacct:${cpu}\n1:name=systemd:/\n0::/\n`;
}

test('devices: whole devices with I/O in the window, exact figures, busiest first', () => {
  const t = tree();
  for (const d of ['vda', 'vdb', 'sdb', 'loop0']) mkdirSync(join(t.root, 'sys/class/block', d), { recursive: true });
  t.put('sys/class/block/vda1/partition', '1\n');
  t.put(
    'proc/diskstats',
    [
      ' 254       0 vda 1000 0 8000 500 2000 0 16000 1000 1 3000 6000 10 0 80 20 30 40',
      ' 254       1 vda1 1000 0 8000 500 2000 0 16000 1000 1 3000 6000 10 0 80 20 30 40',
      ' 254      16 vdb 5 0 40 5 5 0 40 5 0 10 10 0 0 0 0 0 0',
      '   8      16 sdb 900 0 900 900 900 0 900 900 0 900 900 0 0 0 0 0 0',
      '   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
      '',
    ].join('\n'),
  );
  t.put(
    'proc/vmstat',
    'allocstall_normal 10\nallocstall_movable 5\npgscan_direct 1000\npgscan_direct_throttle 3\ncompact_stall 2\n' +
      'pgmajfault 100\npswpin 0\nworkingset_refault_anon 10\nworkingset_refault_file 20\n',
  );
  const s = t.sampler();
  assert.equal(s.sample(10_000, []), null, 'no window on the first call');

  t.put(
    'proc/diskstats',
    [
      ' 254       0 vda 1100 0 8800 700 2300 0 20000 1600 3 4000 8000 20 0 160 80 100 140',
      ' 254       1 vda1 1100 0 8800 700 2300 0 20000 1600 3 4000 8000 20 0 160 80 100 140',
      ' 254      16 vdb 5 0 40 5 5 0 40 5 2 10 10 0 0 0 0 0 0', // nothing completed, 2 in flight
      '   8      16 sdb 10 0 10 10 10 0 10 10 0 10 10 0 0 0 0 0 0', // replaced: counters went back
      '   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
      ' 259       0 nvme0n1 50 0 50 50 50 0 50 50 0 50 50 0 0 0 0 0 0', // new: no baseline yet
      '',
    ].join('\n'),
  );
  t.put(
    'proc/vmstat',
    'allocstall_normal 30\nallocstall_movable 5\npgscan_direct 5000\npgscan_direct_throttle 1000\ncompact_stall 6\n' +
      'pgmajfault 300\npswpin 8\nworkingset_refault_anon 50\nworkingset_refault_file 80\n',
  );
  const e = s.sample(12_000, [])!;
  assert.equal(e.window_ms, 2000);
  assert.deepEqual(e.devices, [
    {
      name: 'vda',
      dev: '254:0',
      util: 0.5,
      reads_s: 50,
      writes_s: 150,
      read_kib_s: 200,
      write_kib_s: 1000,
      // (200 + 600 + 60 + 100) ms over 100 reads + 300 writes + 10 discards + 70 flushes
      await_ms: 2,
      in_flight: 3,
      queue: 1,
    },
    { name: 'vdb', dev: '254:16', util: 0, reads_s: 0, writes_s: 0, read_kib_s: 0, write_kib_s: 0, await_ms: null, in_flight: 2, queue: 0 },
  ]);
  assert.deepEqual(e.memory, {
    direct_reclaim_s: 10,
    pgscan_direct_s: 2000,
    compact_stall_s: 2,
    major_faults_s: 100,
    swap_in_s: 4,
    refaults_s: 50,
  });
  assert.deepEqual(e.cgroups, []);

  // nvme0n1 has its baseline now; the next window reports it.
  t.put('proc/diskstats', ' 259       0 nvme0n1 60 0 70 50 50 0 50 50 0 60 60 0 0 0 0 0 0\n');
  const e3 = s.sample(13_000, [])!;
  assert.deepEqual(
    e3.devices.map((d) => [d.name, d.reads_s, d.read_kib_s, d.util]),
    [['nvme0n1', 10, 10, 0.01]],
  );
});

test('missing /proc/diskstats and /proc/vmstat: no devices, memory null, no throw', () => {
  const t = tree();
  mkdirSync(join(t.root, 'proc'), { recursive: true });
  const s = t.sampler();
  assert.equal(s.sample(1000, [1, 2, 3]), null);
  assert.deepEqual(s.sample(2000, [1, 2, 3]), { window_ms: 1000, devices: [], memory: null, cgroups: [] });
  // A clock that did not advance gives no window (and no division by zero).
  assert.equal(s.sample(2000, []), null);
});

function v1Tree(): ReturnType<typeof tree> {
  const t = tree();
  t.put('proc/self/mountinfo', HYBRID_MOUNTS);
  t.put('proc/100/cgroup', v1Membership('/app', '/app', '/app'));
  t.put('proc/101/cgroup', v1Membership('/app', '/app', '/app'));
  t.put('proc/102/cgroup', v1Membership('/free', '/', '/free'));
  t.put('cgroup/memory/app/memory.limit_in_bytes', '67108864\n');
  t.put('cgroup/memory/app/memory.usage_in_bytes', '62914560\n');
  t.put('cgroup/memory/app/memory.failcnt', '100\n');
  t.put('cgroup/memory/free/memory.limit_in_bytes', '9223372036854771712\n');
  t.put('cgroup/memory/free/memory.usage_in_bytes', '1000\n');
  t.put('cgroup/memory/free/memory.failcnt', '0\n');
  t.put('cgroup/blkio/app/blkio.throttle.read_bps_device', '');
  t.put('cgroup/blkio/app/blkio.throttle.write_bps_device', '254:0 1048576\n8:16 10485760\n');
  t.put('cgroup/blkio/app/blkio.throttle.read_iops_device', '254:0 200\n');
  t.put('cgroup/blkio/app/blkio.throttle.write_iops_device', '');
  t.put(
    'cgroup/blkio/app/blkio.throttle.io_service_bytes',
    '254:0 Read 0\n254:0 Write 1000000\n254:0 Total 1000000\n8:16 Write 0\nTotal 1000000\n',
  );
  t.put('cgroup/blkio/app/blkio.throttle.io_serviced', '254:0 Read 10\n254:0 Write 20\n254:0 Total 30\nTotal 30\n');
  for (const f of ['read_bps_device', 'write_bps_device', 'read_iops_device', 'write_iops_device'])
    t.put(`cgroup/blkio/blkio.throttle.${f}`, '');
  t.put('cgroup/cpu,cpuacct/app/cpu.cfs_quota_us', '20000\n');
  t.put('cgroup/cpu,cpuacct/app/cpu.cfs_period_us', '100000\n');
  t.put('cgroup/cpu,cpuacct/app/cpu.stat', 'nr_periods 100\nnr_throttled 10\nthrottled_time 1000000000\nnr_bursts 0\nburst_time 0\n');
  t.put('cgroup/cpu,cpuacct/free/cpu.cfs_quota_us', '-1\n');
  t.put('cgroup/cpu,cpuacct/free/cpu.cfs_period_us', '100000\n');
  t.put('cgroup/cpu,cpuacct/free/cpu.stat', 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n');
  return t;
}

function advanceV1(t: ReturnType<typeof tree>): void {
  t.put('cgroup/memory/app/memory.usage_in_bytes', '67000000\n');
  t.put('cgroup/memory/app/memory.failcnt', '2568\n');
  t.put(
    'cgroup/blkio/app/blkio.throttle.io_service_bytes',
    `254:0 Read 0\n254:0 Write ${1000000 + 2 * 1048576}\n8:16 Write ${2 * 1048576}\nTotal 0\n`,
  );
  t.put('cgroup/blkio/app/blkio.throttle.io_serviced', '254:0 Read 110\n254:0 Write 52\n254:0 Total 162\nTotal 162\n');
  t.put('cgroup/cpu,cpuacct/app/cpu.stat', 'nr_periods 120\nnr_throttled 19\nthrottled_time 1800000000\nnr_bursts 0\nburst_time 0\n');
}

test('v1 cgroups: limited memory, io, cpu of the load makers (with their pids), at the limit first; unlimited and vanished skipped', () => {
  const t = v1Tree();
  const s = t.sampler();
  const pids = [100, 999, 101, 102];
  assert.equal(s.sample(0, pids), null);
  advanceV1(t);
  const e = s.sample(2000, pids)!;
  assert.deepEqual(e.cgroups, [
    {
      path: '/app',
      limit: 'memory',
      hierarchy: 'v1',
      detail: 'memory: 63.9 MiB used of a 64.0 MiB limit, 1234 limit hits/s',
      at_limit: true,
      ratio: 67000000 / 67108864,
      rate: 1234,
      dev: null,
      pids: [100, 101],
    },
    {
      path: '/app',
      limit: 'io',
      hierarchy: 'v1',
      detail: 'io: writes 1.00 MiB/s on 254:0 at its limit of 1.00 MiB/s (100%)',
      at_limit: true,
      ratio: 1,
      rate: 0,
      dev: '254:0',
      pids: [100, 101],
    },
    {
      path: '/app',
      limit: 'cpu',
      hierarchy: 'v1',
      detail: 'cpu: throttled in 45% of periods, 0.40 s/s (quota 20 ms per 100 ms)',
      at_limit: true,
      ratio: 0.45,
      rate: 0.4,
      dev: null,
      pids: [100, 101],
    },
    {
      path: '/app',
      limit: 'io',
      hierarchy: 'v1',
      detail: 'io: writes 1.00 MiB/s on 8:16 at 10% of its limit of 10.00 MiB/s',
      at_limit: false,
      ratio: 0.1,
      rate: 0,
      dev: '8:16',
      pids: [100, 101],
    },
  ]);
});

test('v1 cgroups: first sight gives levels without rates; an unreadable counter drops only that kind', () => {
  const t = v1Tree();
  const s = t.sampler();
  s.sample(0, []);
  rmSync(join(t.root, 'cgroup/cpu,cpuacct/app/cpu.stat'));
  const e = s.sample(1000, [100])!;
  assert.deepEqual(
    e.cgroups.map((c) => [c.limit, c.dev, c.at_limit, c.ratio, c.rate, c.detail]),
    [
      ['memory', null, false, 62914560 / 67108864, null, 'memory: 60.0 MiB used of a 64.0 MiB limit'],
      ['io', '254:0', false, null, 0, 'io: writes limited to 1.00 MiB/s on 254:0 (no rate yet)'],
      ['io', '8:16', false, null, 0, 'io: writes limited to 10.00 MiB/s on 8:16 (no rate yet)'],
    ],
  );
});

test('limits are re-read every LIMITS_TTL_MS, counters every call', () => {
  const t = v1Tree();
  const s = t.sampler();
  s.sample(0, [100]);
  t.put('cgroup/memory/app/memory.limit_in_bytes', '134217728\n');
  const mem = (e: ReturnType<EvidenceSampler['sample']>) => e!.cgroups.find((c) => c.limit === 'memory')!;
  assert.equal(mem(s.sample(1000, [100])).ratio, 62914560 / 67108864, 'old limit within the TTL');
  t.put('cgroup/memory/app/memory.usage_in_bytes', '67108864\n');
  const later = mem(s.sample(LIMITS_TTL_MS + 1, [100]));
  assert.equal(later.ratio, 0.5, 'new limit and new usage after the TTL');
  assert.equal(later.at_limit, false);
});

test('the cgroup cache stays bounded (least recently used dropped)', () => {
  const t = tree();
  t.put('proc/self/mountinfo', HYBRID_MOUNTS);
  const pids: number[] = [];
  for (let i = 0; i < MAX_CGROUPS + 20; i++) {
    t.put(`proc/${1000 + i}/cgroup`, `12:memory:/g${i}\n0::/\n`);
    pids.push(1000 + i);
  }
  const s = t.sampler();
  // 64 pids per call: go round the whole set, then check the size through a cache probe.
  for (let k = 0; k * 64 < pids.length; k++) s.sample(k * 10, pids.slice(k * 64, k * 64 + 64));
  const cache = (s as unknown as { cgroups: Map<string, unknown> }).cgroups;
  assert.equal(cache.size, MAX_CGROUPS);
  assert.ok(!cache.has(`memory\0${join(t.root, 'cgroup/memory/g0')}`), 'the oldest went first');
  assert.ok(cache.has(`memory\0${join(t.root, 'cgroup/memory/g275')}`));
});

test('v2 cgroups (pure v2 host): memory.max with events and PSI, io.max per device, cpu.max', () => {
  const t = tree();
  t.put('proc/self/mountinfo', fixture('evidence', 'mountinfo-v2.txt'));
  t.put('proc/100/cgroup', '0::/box\n');
  t.put('proc/200/cgroup', '0::/\n');
  const box = 'cgroup/box';
  for (const f of ['memory.max', 'memory.high', 'memory.pressure', 'io.max', 'io.pressure', 'cpu.max'])
    t.put(`${box}/${f}`, fixture('evidence', 'v2', f));
  t.put(`${box}/memory.current`, '60000000\n');
  t.put(`${box}/memory.events`, 'low 0\nhigh 0\nmax 234\noom 1\noom_kill 0\noom_group_kill 0\n');
  t.put(
    `${box}/io.stat`,
    '254:0 rbytes=1459200 wbytes=313724928 rios=192 wios=353 dbytes=0 dios=0\n' +
      '8:16 rbytes=90112 wbytes=299008 rios=8 wios=4 dbytes=0 dios=0\n',
  );
  t.put(`${box}/cpu.stat`, 'usage_usec 1\nnr_periods 80\nnr_throttled 36\nthrottled_usec 3600000\n');
  t.put('cgroup/cpu.stat', 'usage_usec 1\n'); // the root has no limit files at all
  const s = t.sampler();
  s.sample(0, [100, 200]);
  for (const f of ['memory.current', 'memory.events', 'io.stat', 'cpu.stat']) t.put(`${box}/${f}`, fixture('evidence', 'v2', f));
  const e = s.sample(1000, [100, 200])!;
  assert.deepEqual(
    e.cgroups.map((c) => [c.limit, c.hierarchy, c.path, c.dev, c.at_limit, c.ratio, c.rate, c.detail]),
    [
      [
        'memory',
        'v2',
        '/box',
        null,
        true,
        66999296 / 67108864,
        1000,
        'memory: 63.9 MiB used of a 64.0 MiB memory.max limit, 1000 limit hits/s, 1 OOM kill, memory pressure full 35.2%',
      ],
      ['io', 'v2', '/box', '254:0', true, 1, 0, 'io: writes 1.00 MiB/s on 254:0 at its limit of 1.00 MiB/s (100%), io pressure full 75.5%'],
      ['cpu', 'v2', '/box', null, true, 0.45, 0.4, 'cpu: throttled in 45% of periods, 0.40 s/s (quota 20 ms per 100 ms)'],
      ['io', 'v2', '/box', '8:16', false, 0.2, 0, 'io: writes 24 IO/s on 8:16 at 20% of its limit of 120 IO/s, io pressure full 75.5%'],
    ],
  );
});

test('v2 memory.high below memory.max is the limit that bites', () => {
  const t = tree();
  t.put('proc/self/mountinfo', fixture('evidence', 'mountinfo-v2.txt'));
  t.put('proc/7/cgroup', '0::/web\n');
  t.put('cgroup/web/memory.max', '1073741824\n');
  t.put('cgroup/web/memory.high', '536870912\n');
  t.put('cgroup/web/memory.current', '520093696\n');
  t.put('cgroup/web/memory.events', 'low 0\nhigh 10\nmax 0\noom 0\noom_kill 0\n');
  const s = t.sampler();
  s.sample(0, [7]);
  t.put('cgroup/web/memory.events', 'low 0\nhigh 10\nmax 0\noom 0\noom_kill 0\n');
  const [c] = s.sample(2000, [7])!.cgroups;
  // 496 MiB of 512 MiB is 96.9%: at the limit by level, with no new hit in the window.
  assert.equal(c!.ratio, 520093696 / 536870912);
  assert.equal(c!.at_limit, true);
  assert.equal(c!.rate, 0);
  assert.equal(c!.detail, 'memory: 496.0 MiB used of a 512.0 MiB memory.high limit, 0.0 limit hits/s');
});
