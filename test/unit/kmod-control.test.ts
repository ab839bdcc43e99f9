import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseLoadParams } from '../../src/cli/commands/kmod.ts';
import { LoadmonError } from '../../src/errors.ts';
import { explainInsmod } from '../../src/kmod/control.ts';

test('kmod load options become module parameters', () => {
  assert.deepEqual(
    parseLoadParams({ threshold: '1.5', interval: '20ms', cooldown: '3s', depth: '12', maxTasks: '100', keep: '8', printk: true }),
    { threshold: '1.5', interval_ms: 20, cooldown_s: 3, depth: 12, max_tasks: 100, keep: 8, printk: true },
  );
  assert.deepEqual(parseLoadParams({}), {});
});

test('kmod load rejects values the module would refuse, naming the option', () => {
  const bad: Array<[Record<string, string>, string]> = [
    [{ interval: '11s' }, '--interval'],
    [{ cooldown: '1500ms' }, '--cooldown'],
    [{ depth: '0' }, '--depth'],
    [{ depth: '65' }, '--depth'],
    [{ maxTasks: '0' }, '--max-tasks'],
    [{ keep: '100' }, '--keep'],
    [{ threshold: 'x' }, '--threshold'],
  ];
  for (const [raw, opt] of bad) {
    assert.throws(
      () => parseLoadParams(raw),
      (e: unknown) => e instanceof LoadmonError && e.exitStatus === 2 && e.message.includes(opt),
    );
  }
});

test('insmod failures are explained in one sentence', () => {
  assert.match(explainInsmod('insmod: ERROR: could not insert module x.ko: Key was rejected by service'), /Secure Boot/);
  assert.match(explainInsmod('insmod: ERROR: could not insert module x.ko: Operation not permitted'), /lockdown/);
  assert.match(explainInsmod('insmod: ERROR: could not insert module x.ko: Invalid module format'), /built for another kernel/);
  assert.match(explainInsmod('insmod: ERROR: could not insert module x.ko: Invalid parameters'), /rejected its parameters/);
});
