/**
 * `loadmon kmod status` on this machine, as a user runs it (from the
 * sources, so no build is needed): what it says about the sources must
 * match what this machine can do (here: no module support, bpf as root).
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { bpfUnavailable } from '../../src/bpf/availability.ts';
import { moduleSupport } from '../../src/kmod/control.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

function loadmon(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('kmod status names the sources that work on this machine', () => {
  const bpfWorks = bpfUnavailable() === null;
  const text = loadmon('kmod', 'status');
  assert.equal(text.code, 0, text.stderr);
  const line = /^sources that work here: (.*)$/m.exec(text.stdout);
  assert.ok(line, text.stdout);
  assert.equal(/\bbpf\b/.test(line[1]!.replace(/\(.*\)/, '')), bpfWorks, line[0]);
  assert.match(line[1]!, /^(kmod, )?procfs/);
  if (!moduleSupport()) {
    assert.match(text.stdout, /^module support: +no: not supported by this kernel \(CONFIG_MODULES off\)$/m);
    assert.doesNotMatch(text.stdout, /only --source procfs/);
  }
  const json = loadmon('kmod', 'status', '--json');
  assert.equal(json.code, 0, json.stderr);
  const s = JSON.parse(json.stdout) as { sources: string[]; module_support: boolean };
  assert.equal(s.sources.includes('bpf'), bpfWorks);
  assert.ok(s.sources.includes('procfs'));
});
