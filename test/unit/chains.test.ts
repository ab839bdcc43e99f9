import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildChains, type HolderState } from '../../src/analyze/chains.ts';
import type { LockWait } from '../../src/bpf/locks.ts';

const MS = 1e6;
const INODE = { key: 'inode:254:0:42', kind: 'rwsem' as const, name: 'i_rwsem of inode 42 on vda', inode: { ino: 42, dev: '254:0' } };

function wait(tid: number, holder: number | null, ms: number, lock: Partial<LockWait> = {}, pid = 100, comm = 'dwriter'): LockWait {
  return {
    ...INODE,
    ...lock,
    waiter: { tid, pid, comm },
    holder: holder === null ? null : { tid: holder, pid: 100, comm: 'dwriter' },
    ns: ms * MS,
    ended: 1,
  };
}

const D_STACK = ['submit_bio_wait+0x74/0xc0', '__blkdev_direct_IO_simple+0x1/0x2'];
const lookup = (known: Record<number, HolderState>) => (tid: number) => known[tid] ?? null;
const classify = (s: readonly string[]) => (s[0]?.startsWith('submit_bio_wait') ? 'block-io in submit_bio_wait' : null);

test('chains: waiters per lock over the window, the holder behind the most waiting, one step further', () => {
  // 10 s window: threads 2..4 wait 6 s in all behind holder 1, 1 s behind holder 2.
  const waits = [wait(2, 1, 3000), wait(3, 1, 2000), wait(4, 1, 1000), wait(3, 2, 1000), wait(5, null, 500)];
  const [c, ...rest] = buildChains(waits, 10_000, lookup({ 1: { state: 'D', stack: D_STACK } }), classify);
  assert.equal(rest.length, 0);
  assert.deepEqual(c!.lock, { kind: 'rwsem', address: null, name: 'i_rwsem of inode 42 on vda' });
  assert.equal(c!.waiters, 0.75);
  assert.equal(c!.waiter_threads, 4);
  assert.deepEqual(c!.waiter_processes, [{ pid: 100, comm: 'dwriter' }]);
  assert.deepEqual(c!.holder, { pid: 100, tid: 1, comm: 'dwriter', state: 'D', stack: D_STACK });
  assert.equal(c!.holder_cause, 'block-io in submit_bio_wait');
  assert.equal(c!.other_holders, 1);
});

test('chains: largest waiting first; a holder not seen gets no state; readers-held locks have no holder', () => {
  const mutex = { key: 'lock-1', kind: 'mutex' as const, name: null, inode: null };
  const waits = [
    wait(2, 1, 100),
    wait(7, 9, 900, mutex, 200, 'other'),
    wait(8, null, 50, { key: 'lock-2', kind: 'rwsem', name: null, inode: null }),
  ];
  const chains = buildChains(waits, 1000, lookup({}), classify);
  assert.deepEqual(
    chains.map((c) => [c.lock.kind, c.waiters]),
    [
      ['mutex', 0.9],
      ['rwsem', 0.1],
      ['rwsem', 0.05],
    ],
  );
  assert.deepEqual(chains[0]!.holder, { pid: 100, tid: 9, comm: 'dwriter', state: null, stack: [] });
  assert.equal(chains[0]!.holder_cause, null, 'no stack, nothing to classify');
  assert.deepEqual(chains[0]!.waiter_processes, [{ pid: 200, comm: 'other' }]);
  assert.equal(chains[2]!.holder, null);
  assert.equal(chains[2]!.other_holders, 0);
  // Processes of the waiters, most waiting first.
  const mixed = buildChains([wait(1, 5, 10, {}, 300, 'small'), wait(2, 5, 90, {}, 400, 'big')], 1000, lookup({}), classify);
  assert.deepEqual(
    mixed[0]!.waiter_processes.map((p) => p.comm),
    ['big', 'small'],
  );
  assert.deepEqual(buildChains([], 1000, lookup({}), classify), []);
});
