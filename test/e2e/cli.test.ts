import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import type { Workload } from '../../src/workload/workload.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { newWorkload, waitForState } from '../helpers/workload.ts';

test('bad option values exit 2 with one line naming the option', async () => {
  const cases: Array<[string[], string]> = [
    [['watch', '--interval', '0'], '--interval'],
    [['watch', '--interval', '0ms'], '--interval'],
    [['watch', '--interval', '-5s'], '--interval'],
    [['watch', '--interval', 'soon'], '--interval'],
    [['watch', '--interval', '10'], '--interval'],
    [['watch', '--interval', '10parsecs'], '--interval'],
    [['watch', '--cooldown', '-1s'], '--cooldown'],
    [['watch', '--threshold', 'abc'], '--threshold'],
    [['watch', '--threshold', '-3'], '--threshold'],
    [['watch', '--count', '0'], '--count'],
    [['snapshot', '--depth', '65'], '--depth'],
    [['snapshot', '--depth', 'x'], '--depth'],
    [['snapshot', '--format', 'xml'], '--format'],
    [['snapshot', '--source', 'magic'], '--source'],
    [['snapshot', '--json', '--format', 'seed'], '--json'],
    [['snapshot', '--bogus'], '--bogus'],
    [['demo', '--busy', '-1'], '--busy'],
  ];
  for (const [args, option] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(option), `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(r.stdout, '');
  }
});

test('bad environment values exit 2 with one line naming the variable, before anything runs', async () => {
  const cases: Array<[Record<string, string>, string[], string]> = [
    // Used to be ignored silently (abc) or to overflow the timer and drop every stack (3e9 ms).
    [{ LOADMON_DETAIL_TIMEOUT_MS: 'abc' }, ['snapshot', '--source', 'procfs'], 'LOADMON_DETAIL_TIMEOUT_MS'],
    [{ LOADMON_DETAIL_TIMEOUT_MS: '3000000000' }, ['snapshot', '--source', 'procfs'], 'LOADMON_DETAIL_TIMEOUT_MS'],
    [{ LOADMON_DEBUG: 'maybe' }, ['report', '--db', '/nonexistent/x.db'], 'LOADMON_DEBUG'],
    [{ LOADMON_BPF_DEBUG: 'yes please' }, ['kmod', 'status'], 'LOADMON_BPF_DEBUG'],
  ];
  for (const [env, args, name] of cases) {
    const r = await runCli(args, { env: { ...process.env, ...env } });
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.ok(r.stderr.includes(name), r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(r.stdout, '');
  }
  // Empty means not set: the capture runs.
  const ok = await runCli(['snapshot', '--source', 'procfs', '--json'], { env: { ...process.env, LOADMON_DETAIL_TIMEOUT_MS: '' } });
  assert.equal(ok.code, 0, ok.stderr);
});

test('error messages never carry raw control characters from what the user or a task supplied', async () => {
  const r = await runCli(['report', '--db', '/nonexistent/\x1b[2Jdir/x.db']);
  assert.notEqual(r.code, 0);
  assert.ok(!r.stderr.includes('\x1b['), JSON.stringify(r.stderr));
  assert.ok(r.stderr.includes('\\x1b[2J'), r.stderr);
});

test('unknown command and no command print help and exit 2', async () => {
  for (const args of [['frobnicate'], []]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Usage: loadmon/);
    assert.match(r.stderr, /snapshot/);
  }
  const h = await runCli(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /watch/);
});

test('--proc-root reads a fixture tree', async () => {
  const r = await runCli(['snapshot', '--json', '--proc-root', join(FIXTURES, 'proc-tree')]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Snapshot;
  assert.equal(s.cpus, 4);
  assert.deepEqual(
    s.tasks.map((t) => t.tid).sort((a, b) => a - b),
    [100, 200, 301, 901, 950],
  );
});

test('--source kmod with --proc-root reads a copy of /proc/load_monitor', async () => {
  const r = await runCli(['snapshot', '--json', '--source', 'kmod', '--proc-root', join(FIXTURES, 'kmod-root')]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Snapshot;
  assert.equal(s.source, 'kmod');
  assert.equal(s.capture.seq, 8);
  assert.match(s.notes.join(' '), /the module took this snapshot \d+s ago \(seq 8\)/);
  const auto = await runCli(['snapshot', '--json', '--proc-root', join(FIXTURES, 'kmod-root')]);
  assert.equal((JSON.parse(auto.stdout) as Snapshot).source, 'kmod');
  const missing = await runCli(['snapshot', '--source', 'kmod', '--proc-root', join(FIXTURES, 'proc-tree')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /load_monitor does not exist/);
});

test('a missing proc root is one clear error, exit 1', async () => {
  const r = await runCli(['snapshot', '--source', 'procfs', '--proc-root', '/nonexistent/proc']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^loadmon: cannot read \/nonexistent\/proc\/loadavg/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

let work: Workload;
let blocked: number;
before(async () => {
  work = newWorkload();
  blocked = (await work.vfork(60)).pid;
  await waitForState([{ pid: blocked, tid: blocked }], 'D');
});
after(async () => {
  await work.stop();
});

test('unprivileged (nobody): states still listed, one note explains the missing stacks', async () => {
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const r = await runCli(['snapshot', '--json', '--source', 'procfs'], { ...asNobody, cwd: '/' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const s = JSON.parse(r.stdout) as Snapshot;
  const t = s.tasks.find((x) => x.tid === blocked);
  assert.ok(t, 'the vfork-blocked task is listed');
  assert.equal(t.state, 'D');
  assert.deepEqual(t.stack, []);
  assert.deepEqual(
    s.notes.filter((n) => /stack/.test(n)),
    ['kernel stacks need root (CAP_SYS_ADMIN); states are shown without them'],
  );
  const text = await runCli(['snapshot', '--source', 'procfs'], { ...asNobody, cwd: '/' });
  assert.equal(text.code, 0);
  assert.match(text.stdout, /kernel stacks need root/);
});

test('kmod commands explain what is missing on a kernel without module support', async () => {
  const st = await runCli(['kmod', 'status', '--json']);
  assert.equal(st.code, 0, st.stderr);
  const s = JSON.parse(st.stdout) as { module_support: boolean; loaded: boolean };
  if (!s.module_support) {
    const load = await runCli(['kmod', 'load']);
    assert.equal(load.code, 1);
    assert.match(load.stderr, /no loadable module support/);
  }
  const build = await runCli(['kmod', 'build', '--kdir', '/nonexistent/kdir']);
  assert.equal(build.code, 1);
  assert.match(build.stderr, /no kernel build tree at \/nonexistent\/kdir/);
  const bad = await runCli(['kmod', 'load', '--depth', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--depth/);
});

test('--source auto with the module loaded but no snapshot yet: a procfs capture, with a note', async () => {
  const r = await runCli(['snapshot', '--json', '--proc-root', join(FIXTURES, 'kmod-root-empty')]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Snapshot;
  assert.equal(s.source, 'procfs');
  assert.match(s.notes.join(' '), /no snapshot yet.*made with procfs/);
  const k = await runCli(['snapshot', '--source', 'kmod', '--proc-root', join(FIXTURES, 'kmod-root-empty')]);
  assert.equal(k.code, 1);
  assert.match(k.stderr, /no snapshot yet/);
});

test('watch --source kmod reports each new module snapshot by sequence number', async () => {
  const { mkdtempSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-kmod-'));
  try {
    const text = readFileSync(join(FIXTURES, 'kmod', 'two-snapshots.txt'), 'utf8');
    // Start with only seq 7: it existed before watch started and is not reported.
    const first = text.slice(0, text.indexOf('snapshot seq=8'));
    writeFileSync(join(dir, 'load_monitor'), first);
    const run = runCli(['watch', '--source', 'kmod', '--proc-root', dir, '--count', '2', '--json'], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 1200));
    // The module publishes seq 8, then seq 9 (a renumbered copy of 8).
    writeFileSync(join(dir, 'load_monitor'), text);
    await new Promise((r) => setTimeout(r, 600));
    const nine = text.slice(text.indexOf('snapshot seq=8')).replaceAll('seq=8', 'seq=9');
    writeFileSync(join(dir, 'load_monitor'), `${text}${nine}`);
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    const snaps = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Snapshot);
    assert.deepEqual(
      snaps.map((s) => s.capture.seq),
      [8, 9],
    );
    assert.ok(snaps.every((s) => s.source === 'kmod' && s.trigger?.reason === 'load1>=threshold'));
    assert.deepEqual(
      snaps.map((s) => s.trigger!.capture_index),
      [1, 2],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('node flags of the user (e.g. --max-old-space-size) do not break the snapshot', async () => {
  const { spawnSync } = await import('node:child_process');
  const { CLI } = await import('../helpers/cli.ts');
  const r = spawnSync(
    process.execPath,
    ['--max-old-space-size=256', '--max-semi-space-size=16', CLI, 'snapshot', '--json', '--source', 'procfs'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as Snapshot).schema, 'loadmon.snapshot/v1');
});
