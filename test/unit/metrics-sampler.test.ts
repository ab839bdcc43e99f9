/**
 * The light scan's D threads by cause (the source of /metrics'
 * loadmon_uninterruptible_threads_by_cause with procfs): each D thread's
 * wchan through the cause table, on a proc tree written from real samples.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { TimelineSampler } from '../../src/record/sampler.ts';

const root = mkdtempSync(join(tmpdir(), 'loadmon-sampler-causes-'));
after(() => rmSync(root, { recursive: true, force: true }));

// A vfork parent's stat and wchan as this host's 6.18 kernel wrote them (pid changed).
const VFORK_STAT =
  '(loadmon-loadgen) D 32682 32717 32717 0 -1 4194304 111 0 0 0 0 0 0 0 20 0 1 0 1394494 2535424 367 18446744073709551615 ' +
  '94887693131776 94887693134057 140736291663264 0 0 0 0 0 0 1 0 0 17 0 0 0 0 0 0 94887693143504 94887693144264 ' +
  '94887908278272 140736291666556 140736291666622 140736291666622 140736291667902 0\n';

function task(pid: number, tid: number, state: string, wchan: string | null): void {
  const dir = join(root, String(pid), 'task', String(tid));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stat'), `${tid} ${VFORK_STAT.replace(') D ', `) ${state} `)}`);
  if (wchan !== null) writeFileSync(join(dir, 'wchan'), wchan);
  writeFileSync(join(root, String(pid), 'cgroup'), '0::/test.slice\n');
}

test('sampler: D threads get their cause from wchan; one without wchan is unknown; R and S are not counted', async () => {
  writeFileSync(join(root, 'loadavg'), '6.00 2.00 1.00 3/300 999\n');
  task(91001, 91001, 'D', 'kernel_clone');
  task(91002, 91002, 'D', 'kernel_clone');
  task(91003, 91003, 'D', 'ext4_file_write_iter');
  task(91003, 91004, 'D', null); // vanished between the stat pass and the wchan read
  task(91005, 91005, 'D', '0');
  task(91006, 91006, 'R', 'kernel_clone');
  task(91007, 91007, 'S', 'kernel_clone');
  const sampler = new TimelineSampler({ procRoot: root, scanAbove: 1 });
  try {
    const s = await sampler.sample(1_000);
    assert.equal(s.scan?.d, 5);
    assert.equal(s.scan?.r, 1);
    assert.deepEqual(s.dCauses, { vfork: 2, lock: 1, unknown: 2 });
  } finally {
    sampler.close();
  }
});

test('sampler: below the scan level there is no scan and no cause', async () => {
  writeFileSync(join(root, 'loadavg'), '0.20 0.10 0.05 1/300 999\n');
  const sampler = new TimelineSampler({ procRoot: root, scanAbove: 1 });
  try {
    const s = await sampler.sample(2_000);
    assert.equal(s.scan, null);
    assert.equal(s.dCauses, undefined);
  } finally {
    sampler.close();
  }
});
