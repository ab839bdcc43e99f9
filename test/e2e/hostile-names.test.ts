/**
 * Issue 11, item 1, end to end: a real task in D with a comm that is an
 * escape sequence (prctl PR_SET_NAME from the loadgen helper), moved into a
 * cgroup whose name is one too, as any user with a delegated subtree could
 * make it. `loadmon snapshot` (text and the seed layout) must print neither
 * raw; the JSON keeps the real values.
 */

import assert from 'node:assert/strict';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import type { Workload } from '../../src/workload/workload.ts';
import { runCli } from '../helpers/cli.ts';
import { assertNoUnsafe } from '../helpers/unsafe-chars.ts';
import { newWorkload, waitForState } from '../helpers/workload.ts';

/** 10 bytes: fits TASK_COMM_LEN (15 + NUL). Clears the screen and turns the text red. */
const COMM = '\x1b[2J\x1b[31mX';
const COMM_SHOWN = '\\x1b[2J\\x1b[31mX';
/** A v1 hierarchy (the unified one outranks it in loadmon's choice of path, and stays at / here). */
const V1_CPU = '/sys/fs/cgroup/cpu';
const CGROUP = `loadmon-e2e-${process.pid}-\x1b[2J\x1b[31mPWNED\r\u009b`;
const CGROUP_SHOWN = `/loadmon-e2e-${process.pid}-\\x1b[2J\\x1b[31mPWNED\\x0d\\u009b`;
const root = process.getuid?.() === 0;

let work: Workload;
let pid: number;
let cgroupDir: string | null = null;

before(async () => {
  if (!root) return;
  work = newWorkload();
  pid = (await work.vfork(60, COMM)).pid;
  await waitForState([{ pid, tid: pid }], 'D');
  cgroupDir = join(V1_CPU, CGROUP);
  mkdirSync(cgroupDir);
  writeFileSync(join(cgroupDir, 'cgroup.procs'), String(pid));
});

after(async () => {
  // The task must be gone (killed and reaped) before its cgroup can be removed.
  await work?.stop();
  if (cgroupDir !== null) rmdirSync(cgroupDir);
});

test('snapshot text and seed: a hostile comm and cgroup name reach the terminal escaped', {
  skip: !root && 'needs root (cgroup, kernel stacks)',
}, async () => {
  const text = await runCli(['snapshot', '--source', 'procfs']);
  assert.equal(text.code, 0, text.stderr);
  assertNoUnsafe(text.stdout, 'text');
  const line = text.stdout.split('\n').find((l) => l.includes(`pid ${pid} `));
  assert.ok(line, `the D task is listed:\n${text.stdout}`);
  assert.equal(line, `  pid ${pid} ${COMM_SHOWN}  tid ${pid}  cgroup ${CGROUP_SHOWN}`);

  const seed = await runCli(['snapshot', '--source', 'procfs', '--format', 'seed']);
  assert.equal(seed.code, 0, seed.stderr);
  assertNoUnsafe(seed.stdout, 'seed');
  assert.ok(seed.stdout.includes(`uninterrupted task, comm: ${COMM_SHOWN}, pid ${pid}\n`), seed.stdout);

  // The default source (bpf where it works, as root) prints the same.
  const auto = await runCli(['snapshot']);
  assert.equal(auto.code, 0, auto.stderr);
  assertNoUnsafe(auto.stdout, 'text, default source');
  assert.ok(auto.stdout.includes(`  pid ${pid} ${COMM_SHOWN}  tid ${pid}  cgroup ${CGROUP_SHOWN}`), auto.stdout);
});

test('snapshot JSON keeps the real comm and cgroup (consumers escape them)', {
  skip: !root && 'needs root (cgroup, kernel stacks)',
}, async () => {
  const r = await runCli(['snapshot', '--source', 'procfs', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const t = (JSON.parse(r.stdout) as Snapshot).tasks.find((x) => x.tid === pid);
  assert.ok(t);
  assert.equal(t.comm, COMM);
  assert.equal(t.cgroup, `/${CGROUP}`);
});
