/**
 * `loadmon kmod status` says which sources work here, and only true things
 * (issue 11, item 12): without module support it used to say "only --source
 * procfs works here" on a machine where bpf works.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { kmodStatusText, workingSources } from '../../src/cli/commands/kmod.ts';
import type { KmodStatus } from '../../src/kmod/control.ts';

const KDIR = '/lib/modules/6.18.0/build';
const NO_MODULES: KmodStatus = { kernel: '6.18.0', module_support: false, headers: null, built: false, loaded: false, params: {} };
const NOT_ROOT = 'loading BPF programs needs root, or CAP_BPF with CAP_PERFMON (run loadmon as root)';

test('no module support, bpf works: procfs and bpf are named as working', () => {
  const text = kmodStatusText(NO_MODULES, null, KDIR);
  assert.match(text, /^module support: +no: not supported by this kernel \(CONFIG_MODULES off\)$/m);
  assert.match(text, /^sources that work here: procfs, bpf$/m);
  assert.doesNotMatch(text, /only --source procfs/);
  assert.deepEqual(workingSources(NO_MODULES, null), ['procfs', 'bpf']);
});

test('no module support, bpf does not work: only procfs, and why not bpf', () => {
  const text = kmodStatusText(NO_MODULES, NOT_ROOT, KDIR);
  assert.match(text, /^sources that work here: procfs$/m);
  assert.match(text, /^bpf: +not usable: loading BPF programs needs root/m);
  assert.deepEqual(workingSources(NO_MODULES, NOT_ROOT), ['procfs']);
});

test('module loaded: kmod works too, its parameters are listed', () => {
  const loaded: KmodStatus = { ...NO_MODULES, module_support: true, built: true, loaded: true, params: { threshold: '1.50' } };
  const text = kmodStatusText(loaded, null, KDIR);
  assert.match(text, /^module support: +yes$/m);
  assert.match(text, /^sources that work here: kmod, procfs, bpf$/m);
  assert.match(text, /^ {2}threshold +1\.50$/m);
  assert.deepEqual(workingSources(loaded, NOT_ROOT), ['kmod', 'procfs']);
});

test('module support but not loaded: kmod is not claimed to work yet', () => {
  const s: KmodStatus = { ...NO_MODULES, module_support: true, headers: KDIR };
  const text = kmodStatusText(s, null, KDIR);
  assert.match(text, /^sources that work here: procfs, bpf \(kmod once built and loaded: loadmon kmod build, loadmon kmod load\)$/m);
  assert.match(text, /^kernel headers: +\/lib\/modules\/6\.18\.0\/build$/m);
});
