/**
 * The deadline on every request to the eBPF helper (src/bpf/helper.ts), with
 * fake helpers: shell scripts that speak the handshake, then answer some
 * commands and never answer others (a wedged helper). The real helper needs
 * root and BPF; these run anywhere.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { BpfHelper, HELPER_DEADLINES_MS } from '../../src/bpf/helper.ts';
import { LoadmonError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-deadline-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Without a working deadline a request would wait forever: the test fails instead. */
const BOUNDED = { timeout: 20_000 };

/**
 * A fake helper: says ready, starts a sleeping child in its process group
 * (as the maps command's reader would be) and writes both pids to a file,
 * then answers `profile-start` and nothing else.
 */
function fakeHelper(name: string, ready = 'ready 3 cpus=1 pass=task-list locks=0'): { path: string; pids: string } {
  const path = join(dir, name);
  const pids = join(dir, `${name}.pids`);
  writeFileSync(
    path,
    `#!/bin/sh
sleep 600 &
echo "$$ $!" > '${pids}'
echo '${ready}'
while read -r cmd; do
  case "$cmd" in
    profile-start*) echo 'ok 1' ;;
  esac
done
`,
  );
  chmodSync(path, 0o755);
  return { path, pids };
}

function pidsOf(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split(' ').map(Number);
}

/** Gone: no such process, or a zombie waiting for a parent that is not us. */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    return /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Waits (bounded) until every pid is gone; the ones still there. */
async function survivors(pids: number[]): Promise<number[]> {
  for (let i = 0; i < 200 && pids.some((p) => !gone(p)); i++) await new Promise((r) => setTimeout(r, 25));
  return pids.filter((p) => !gone(p));
}

function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

test('every command has a default deadline', () => {
  for (const c of ['start', 'snapshot', 'sample', 'profile-start', 'profile-stop', 'offcpu-start', 'maps'] as const) {
    assert.ok(HELPER_DEADLINES_MS[c] >= 1000 && HELPER_DEADLINES_MS[c] <= 60_000, `${c}: ${HELPER_DEADLINES_MS[c]}`);
  }
});

test(
  'a request the helper never answers rejects with E_BPF naming the command, and the helper and its group are killed',
  BOUNDED,
  async () => {
    const fake = fakeHelper('wedged');
    const h = await BpfHelper.start(fake.path, { deadlinesMs: { snapshot: 300 } });
    const pids = pidsOf(fake.pids);
    try {
      // Answered: the helper is alive and in sync before the wedged request.
      assert.equal(await h.profileStart(49), 1);
      const err = await h.snapshot(20, process.pid).then(
        () => assert.fail('the snapshot resolved'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof LoadmonError);
      assert.equal(err.code, 'E_BPF');
      assert.match(err.message, /did not answer 'snapshot' within 300 ms/);
      assert.deepEqual(await survivors(pids), [], 'the helper and its child were killed');
      // Later requests fail at once, saying why.
      await assert.rejects(h.profileStart(49), (e: LoadmonError) => e.code === 'E_BPF' && /no answer to 'snapshot'/.test(e.message));
    } finally {
      killAll(pids);
    }
  },
);

test('requests queued behind a wedged one are rejected too', BOUNDED, async () => {
  const fake = fakeHelper('queued');
  const h = await BpfHelper.start(fake.path, { deadlinesMs: { 'profile-stop': 200 } });
  const pids = pidsOf(fake.pids);
  try {
    const first = h.profileStop();
    const second = h.profileStart(49);
    await assert.rejects(first, /did not answer 'profile-stop' within 200 ms/);
    await assert.rejects(second, (e: LoadmonError) => e.code === 'E_BPF' && /was killed/.test(e.message));
    assert.deepEqual(await survivors(pids), []);
  } finally {
    killAll(pids);
  }
});

test('maps gets its own read timeout on top of its deadline', BOUNDED, async () => {
  const fake = fakeHelper('maps');
  const h = await BpfHelper.start(fake.path, { deadlinesMs: { maps: 100 } });
  const pids = pidsOf(fake.pids);
  try {
    await assert.rejects(h.maps([1], 150), /did not answer 'maps' within 250 ms/);
    assert.deepEqual(await survivors(pids), []);
  } finally {
    killAll(pids);
  }
});

test('a helper that never says ready is killed at the start deadline', BOUNDED, async () => {
  const fake = fakeHelper('silent', '');
  // An empty echo is an empty line, which is not a ready line: write nothing instead.
  writeFileSync(fake.path, readFileSync(fake.path, 'utf8').replace("echo ''\n", ''));
  const start = BpfHelper.start(fake.path, { deadlinesMs: { start: 300 } });
  await assert.rejects(start, (e: LoadmonError) => e.code === 'E_BPF' && /was not ready within 300 ms/.test(e.message));
  const pids = pidsOf(fake.pids);
  try {
    assert.deepEqual(await survivors(pids), []);
  } finally {
    killAll(pids);
  }
});
