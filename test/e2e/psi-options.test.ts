/**
 * `--trigger` mistakes, as a user meets them: exit 2 and one line naming
 * --trigger with what is wrong, before anything starts.
 */

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { hasSysResource } from '../../src/trigger/psi-trigger.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { scratch } from '../helpers/processes.ts';

const { dir } = scratch('loadmon-psi-opt-');

async function refused(args: string[], want: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const r = await runCli(args, { env, timeoutMs: 30_000 });
  assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing captured');
  assert.match(r.stderr, want, args.join(' '));
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  return r.stderr;
}

test('invalid PSI specs exit 2 naming --trigger and what is wrong (watch, record, serve --record)', async () => {
  const db = join(dir, 'never.db');
  const cases: Array<[string[], RegExp]> = [
    [['watch', '--trigger', 'psi:disk:some:150ms/2s'], /--trigger: 'psi:disk:some:150ms\/2s' \(unknown resource 'disk'/],
    [['watch', '--trigger', 'psi:io:often:150ms/2s'], /--trigger.*unknown kind 'often': use some or full/],
    [['watch', '--trigger', 'psi:io:some:150ms/100ms'], /--trigger.*window must be between 500ms and 10s/],
    [['watch', '--trigger', 'psi:io:some:150ms/20s'], /--trigger.*window must be between 500ms and 10s/],
    [['watch', '--trigger', 'psi:io:some:3s/2s'], /--trigger.*stall time must not exceed the window/],
    [['watch', '--trigger', 'psi:io:some:150/2s'], /--trigger.*<stall>\/<window> as durations/],
    [['watch', '--trigger', 'psi:cpu:full:150ms/2s'], /--trigger.*cpu full is always 0/],
    [['watch', '--trigger', 'loadavg>3'], /--trigger.*expected load or psi:/],
    [['watch', '--trigger', 'psi:io:some:150ms/2s', '--trigger', 'psi:io:some:150ms/2s'], /--trigger.*given twice/],
    [['record', '--db', db, '--trigger', 'psi:memory:some:0ms/2s'], /--trigger.*greater than zero/],
    [['serve', '--record', '--db', db, '--listen', '127.0.0.1:0', '--trigger', 'psi:io:some:1s'], /--trigger.*<stall>\/<window>/],
  ];
  for (const [args, want] of cases) await refused(args, want);
});

test('serve without --record refuses --trigger (it would be ignored)', async () => {
  await refused(['serve', '--db', join(dir, 'x.db'), '--trigger', 'psi:io:some:150ms/2s'], /--trigger.*only applies with --record/);
});

test('a kernel without PSI (no pressure/ under the proc root): E_PSI_UNAVAILABLE, exit 2', async () => {
  const root = join(dir, 'no-psi');
  cpSync(join(FIXTURES, 'proc-tree'), root, { recursive: true });
  const err = await refused(
    ['watch', '--source', 'procfs', '--proc-root', root, '--trigger', 'psi:io:some:150ms/2s'],
    /--trigger psi:io:some:150ms\/2s: PSI is not available: this kernel has no .*\/no-psi\/pressure\/io /,
  );
  assert.match(err, /\(built without CONFIG_PSI, or booted with psi=0\)/);
});

test('the kernel module triggers by itself: --source kmod with --trigger psi is refused', async () => {
  const root = join(dir, 'kmod');
  cpSync(join(FIXTURES, 'kmod-root'), root, { recursive: true });
  mkdirSync(join(root, 'pressure'));
  writeFileSync(join(root, 'pressure', 'io'), readFileSync('/proc/pressure/io'));
  await refused(
    ['watch', '--source', 'kmod', '--proc-root', root, '--quiet', '--trigger', 'psi:io:some:150ms/2s'],
    /--trigger: 'psi:io:some:150ms\/2s' \(the kernel module triggers by itself: PSI triggers need --source procfs or bpf\)/,
  );
});

test('LOADMON_WAITER=off: PSI triggers cannot be waited for, refused', async () => {
  await refused(
    ['watch', '--source', 'procfs', '--quiet', '--trigger', 'psi:io:some:150ms/2s'],
    /--trigger.*PSI triggers need the native waiter, which LOADMON_WAITER=off turns off/,
    { ...process.env, LOADMON_WAITER: 'off' },
  );
});

test('without CAP_SYS_RESOURCE a window that is not a multiple of 2s is refused at start', async (t) => {
  if (hasSysResource(readFileSync('/proc/self/status', 'utf8')) !== false) {
    t.skip('this process has CAP_SYS_RESOURCE: the kernel takes any window from 500ms to 10s');
    return;
  }
  await refused(['watch', '--source', 'procfs', '--trigger', 'psi:io:some:150ms/1s'], /--trigger.*multiples of 2s, e\.g\. 150ms\/2s/);
});
