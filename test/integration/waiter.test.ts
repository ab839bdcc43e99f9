/**
 * The real native waiter (dist/native/loadmon-wait, built by `npm run build`)
 * through its Node client: it compiles without a warning, says a load update
 * that matches /proc/loadavg, acks a PSI trigger the kernel accepts and
 * passes on the kernel's refusal, exits 0 on quit; a missing binary fails the
 * start with E_WAITER (the watcher then polls from Node: trigger tests).
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { LoadmonError } from '../../src/errors.ts';
import { BUILT_WAITER, type LoadUpdate, monotonicToPerf, WaiterClient } from '../../src/trigger/waiter.ts';
import { ROOT } from '../helpers/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'loadmon-waiter-'));
const clients: WaiterClient[] = [];
after(() => {
  for (const c of clients) c.close();
  rmSync(tmp, { recursive: true, force: true });
});

function open(path = BUILT_WAITER): WaiterClient {
  const c = new WaiterClient({ path });
  clients.push(c);
  return c;
}

const loads = (): string => readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');

test('waiter.c compiles with -Wall -Wextra without a warning', () => {
  const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', join(tmp, 'w'), join(ROOT, 'native', 'waiter.c')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('a load update arrives within 12 s and matches /proc/loadavg', { timeout: 20_000 }, async () => {
  const c = open();
  await c.ready;
  const update = await new Promise<LoadUpdate>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no load line in 12 s')), 12_000);
    c.onLoad((u) => {
      clearTimeout(timer);
      resolve(u);
    });
  });
  const now = loads();
  assert.equal(update.loads, now);
  assert.equal(update.load1, Number(now.split(' ')[0]));
  // t_ms is CLOCK_MONOTONIC: on performance.now()'s clock it is the recent past.
  const ago = performance.now() - monotonicToPerf(update.tMs);
  assert.ok(ago >= 0 && ago < 1000, `the update was seen ${ago} ms ago`);
});

test('PSI triggers: one the kernel takes is acked, refusals carry the waiter’s text', async () => {
  const c = open();
  // 2 s: a window that is not a multiple of 2 s needs CAP_SYS_RESOURCE (kernel/sched/psi.c).
  await c.addPsi({ id: 'cpu-0', resource: 'cpu', kind: 'some', stallUs: 150_000, windowUs: 2_000_000 });
  await assert.rejects(c.addPsi({ id: 'cpu-0', resource: 'cpu', kind: 'some', stallUs: 150_000, windowUs: 2_000_000 }), (e: unknown) => {
    return e instanceof LoadmonError && e.code === 'E_WAITER' && e.fields.reason === 'id in use';
  });
  await assert.rejects(c.addPsi({ id: 'cpu-1', resource: 'cpu', kind: 'some', stallUs: 3_000_000, windowUs: 2_000_000 }), (e: unknown) => {
    return e instanceof LoadmonError && /^Invalid argument \(window 500000\.\.10000000 us/.test(e.fields.reason ?? '');
  });
  await c.removePsi('cpu-0');
  await assert.rejects(c.removePsi('cpu-0'), /no such trigger/);
});

test('quit exits 0', async () => {
  const r = spawnSync(BUILT_WAITER, [], { input: 'quit\n', encoding: 'utf8', timeout: 5000 });
  assert.equal(r.status, 0);
  assert.equal(r.stdout.split('\n')[0], 'ready 1');
});

test('a proc root without loadavg: exit 1 naming the file, and the start fails', async () => {
  const r = spawnSync(BUILT_WAITER, ['--proc-root', tmp], { input: '', encoding: 'utf8', timeout: 5000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /loadavg: No such file or directory/);
  const c = new WaiterClient({ path: BUILT_WAITER, procRoot: tmp });
  await assert.rejects(c.ready, (e: unknown) => e instanceof LoadmonError && e.code === 'E_WAITER' && /loadavg/.test(e.message));
});

test('a missing binary: the start fails with E_WAITER naming it', async () => {
  const missing = join(tmp, 'nope', 'loadmon-wait');
  const c = open(missing);
  await assert.rejects(c.ready, (e: unknown) => e instanceof LoadmonError && e.code === 'E_WAITER' && e.fields.path === missing);
  await assert.rejects(c.addPsi({ id: 'a', resource: 'io', kind: 'full', stallUs: 1, windowUs: 2_000_000 }), /E_WAITER|native waiter/);
});
