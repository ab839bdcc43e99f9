import assert from 'node:assert/strict';
import { test } from 'node:test';

import { childEnv, MAX_DETAIL_TIMEOUT_MS, readEnv } from '../../src/env.ts';
import { LoadmonError } from '../../src/errors.ts';

function rejects(env: Record<string, string>, name: string): void {
  assert.throws(
    () => readEnv(env),
    (e: unknown) => e instanceof LoadmonError && e.exitStatus === 2 && e.message.includes(name),
    `${JSON.stringify(env)} should be refused naming ${name}`,
  );
}

test('env: nothing set gives the defaults', () => {
  assert.deepEqual(readEnv({}), {
    detailTimeoutMs: null,
    token: null,
    bpfHelper: null,
    bpfDebug: false,
    bpfIterTask: false,
    cacheDir: null,
    debug: false,
    waiter: null,
  });
});

test('env: an empty value means not set', () => {
  const env = readEnv({ LOADMON_DETAIL_TIMEOUT_MS: '', LOADMON_TOKEN: '', LOADMON_DEBUG: '', LOADMON_BPF_HELPER: '' });
  assert.equal(env.detailTimeoutMs, null);
  assert.equal(env.token, null);
  assert.equal(env.debug, false);
  assert.equal(env.bpfHelper, null);
});

test('env: LOADMON_DETAIL_TIMEOUT_MS is a whole number of ms within Node timer range', () => {
  assert.equal(readEnv({ LOADMON_DETAIL_TIMEOUT_MS: '250' }).detailTimeoutMs, 250);
  assert.equal(readEnv({ LOADMON_DETAIL_TIMEOUT_MS: String(MAX_DETAIL_TIMEOUT_MS) }).detailTimeoutMs, MAX_DETAIL_TIMEOUT_MS);
  // 3e9 ms overflows setTimeout (fires after 1 ms); abc used to be ignored silently.
  for (const bad of ['abc', '3000000000', '0', '-5', '1.5', '1e3', ' 100', '0x10']) {
    rejects({ LOADMON_DETAIL_TIMEOUT_MS: bad }, 'LOADMON_DETAIL_TIMEOUT_MS');
  }
});

test('env: flags take 1/0, true/false, yes/no, on/off and nothing else', () => {
  for (const on of ['1', 'true', 'YES', 'on']) assert.equal(readEnv({ LOADMON_DEBUG: on }).debug, true, on);
  for (const off of ['0', 'false', 'no', 'Off']) assert.equal(readEnv({ LOADMON_DEBUG: off }).debug, false, off);
  rejects({ LOADMON_DEBUG: 'maybe' }, 'LOADMON_DEBUG');
  rejects({ LOADMON_BPF_DEBUG: '2' }, 'LOADMON_BPF_DEBUG');
  rejects({ LOADMON_BPF_ITER_TASK: 'y' }, 'LOADMON_BPF_ITER_TASK');
});

test('env: the eBPF helper sees a flag that is off as unset (it tests presence)', () => {
  const child = childEnv({ PATH: '/bin', LOADMON_BPF_DEBUG: '0', LOADMON_BPF_ITER_TASK: 'true' });
  assert.equal(child.PATH, '/bin');
  assert.equal('LOADMON_BPF_DEBUG' in child, false);
  assert.equal(child.LOADMON_BPF_ITER_TASK, '1');
});
