/**
 * Options the user did not type must not act as if typed (issue 11, item
 * 10): commander knows each default (for --help), and `watch` used to write
 * them all into the kernel module, undoing `kmod load --threshold 1.5`.
 * The command line is parsed by the real program (src/cli/main.ts) with the
 * command's action replaced, then the options go through parseWatch and the
 * module-parameter step of `watch --source kmod` with a fake writer.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Command } from 'commander';

import { buildProgram } from '../../src/cli/main.ts';
import { parseWatch, type RawWatch } from '../../src/cli/options.ts';
import type { ModuleParams, ParamName } from '../../src/kmod/params.ts';
import { applyGivenParams } from '../../src/trigger/kmod-watcher.ts';

/** The raw options `command` hands its action for `argv`. */
async function rawOptions(command: string, argv: string[]): Promise<Record<string, unknown>> {
  const program = buildProgram();
  const cmd = program.commands.find((c: Command) => c.name() === command)!;
  let seen: Record<string, unknown> | null = null;
  cmd.action((o: Record<string, unknown>) => {
    seen = o;
  });
  await program.parseAsync([command, ...argv], { from: 'user' });
  assert.ok(seen, `${command} action did not run`);
  return seen;
}

/** Module parameters in memory: what was written, in order. */
function fakeParams(initial: Partial<Record<ParamName, string>> = {}): ModuleParams & { writes: Array<[ParamName, string]> } {
  const values: Partial<Record<ParamName, string>> = { threshold: '1.50', interval_ms: '10', cooldown_s: '20', depth: '20', ...initial };
  const writes: Array<[ParamName, string]> = [];
  return {
    read: (name) => values[name] ?? null,
    write: (name, value) => {
      writes.push([name, value]);
      values[name] = value;
    },
    writes,
  };
}

async function watchWrites(argv: string[]): Promise<Array<[ParamName, string]>> {
  const opts = parseWatch((await rawOptions('watch', argv)) as RawWatch);
  const params = fakeParams();
  applyGivenParams(opts, 2, null, params);
  return params.writes;
}

test('watch without options writes no module parameter', async () => {
  assert.deepEqual(await watchWrites([]), []);
  assert.deepEqual(await watchWrites(['--source', 'kmod', '--json']), []);
});

test('watch --threshold 2 writes only the threshold', async () => {
  assert.deepEqual(await watchWrites(['--threshold', '2']), [['threshold', '2']]);
});

test('each typed option is written, per-CPU thresholds resolved with the module CPUs', async () => {
  assert.deepEqual(await watchWrites(['--threshold', '0.75/cpu', '--interval', '20ms', '--cooldown', '3s']), [
    ['threshold', '1.5'],
    ['interval_ms', '20'],
    ['cooldown_s', '3'],
  ]);
});

test('options that were not typed are not marked as given, and still get their defaults', async () => {
  const opts = parseWatch((await rawOptions('watch', [])) as RawWatch);
  assert.deepEqual(opts.given, { threshold: false, interval: false, cooldown: false });
  assert.equal(opts.depthGiven, false);
  assert.equal(opts.threshold.value, 3);
  assert.equal(opts.intervalMs, 10);
  assert.equal(opts.cooldownMs, 20_000);
  assert.equal(opts.depth, 20);
  assert.equal(opts.source, 'auto');
  assert.equal(opts.procRoot, '/proc');
  const typed = parseWatch((await rawOptions('watch', ['--depth', '12', '--cooldown', '0s'])) as RawWatch);
  assert.deepEqual(typed.given, { threshold: false, interval: false, cooldown: true });
  assert.equal(typed.depthGiven, true);
});

test('record gets the same treatment (it shares watch options)', async () => {
  const raw = await rawOptions('record', ['--interval', '50ms']);
  const opts = parseWatch(raw as RawWatch);
  assert.deepEqual(opts.given, { threshold: false, interval: true, cooldown: false });
});

test('help still shows the defaults', () => {
  const watch = buildProgram().commands.find((c: Command) => c.name() === 'watch')!;
  assert.match(watch.helpInformation(), /--threshold <load>[^(]*\(default: "3"\)/);
});
