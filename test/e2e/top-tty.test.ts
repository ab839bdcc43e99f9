/**
 * `loadmon top` in a real pseudo-terminal (util-linux `script`), with a real
 * vfork D task and a busy R loop: the first screen, `g`, Enter on the D
 * process (its kernel stack), `q` with the terminal given back; SIGTERM and
 * SIGHUP give it back too. The screen is replayed from what top wrote.
 * Waits are for text, with a deadline; nothing is timed.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import { acquireStoreLock } from '../../src/store/lock.ts';
import { CLI, runCli } from '../helpers/cli.ts';
import { newWorkload, waitForState } from '../helpers/workload.ts';

const LEAVE_ALT_SCREEN = '\x1b[?1049l';
// biome-ignore lint/suspicious/noControlCharactersInRegex: top's cursor moves and screen clears are what a terminal acts on
const MOVE_OR_CLEAR = /\x1b\[(\d+);1H|\x1b\[2J/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping the escape sequences is the point
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

/**
 * The screen as a terminal shows it after everything top wrote: top puts
 * each line with a move to its start and erases the rest of it, and writes
 * only the lines that changed, so the lines are replayed in order.
 */
function replayScreen(out: string, rows = 24): string[] {
  const screen: string[] = new Array(rows).fill('');
  const marks = [...out.matchAll(MOVE_OR_CLEAR)];
  marks.forEach((m, i) => {
    if (m[1] === undefined) {
      screen.fill('');
      return;
    }
    const end = i + 1 < marks.length ? marks[i + 1]!.index : out.length;
    const row = Number(m[1]) - 1;
    if (row < rows)
      screen[row] = out
        .slice(m.index + m[0].length, end)
        .replace(ESCAPES, '')
        .replace(/[\r\n].*$/s, '');
  });
  return screen;
}

class Pty {
  out = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    const cmd = `stty cols 80 rows 24; exec ${process.execPath} ${CLI} ${args.join(' ')}`;
    this.child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    this.child.stderr!.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  lines(): string[] {
    return replayScreen(this.out);
  }

  send(keys: string): void {
    this.child.stdin!.write(keys);
  }

  /** Waits (bounded) until the screen satisfies `ok`. */
  async screen(ok: (lines: string[]) => boolean, what: string, timeoutMs = 20_000): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.lines();
      if (ok(lines)) return lines;
      if (Date.now() > end) throw new Error(`no screen with ${what}; last:\n${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a key and waits for the screen it leads to. */
  async key(k: string, ok: (lines: string[]) => boolean, what: string): Promise<string[]> {
    this.send(k);
    return this.screen(ok, what);
  }
}

const selected = (lines: string[]): string => lines.find((l) => l.startsWith('>')) ?? '';

/** `k` when the row is shown above the selection or the selection is on the table's last row, else `j`. */
function stepToward(lines: string[], row: RegExp): string {
  const sel = lines.findIndex((l) => l.startsWith('>'));
  const at = lines.findIndex((l) => row.test(l));
  if (at >= 0) return at < sel ? 'k' : 'j';
  const next = lines[sel + 1] ?? '';
  return next === '' || next.startsWith('q quit') ? 'k' : 'j';
}

test('top in a pty: first screen, g changes the grouping, Enter shows the D process kernel stack, q restores the terminal', async () => {
  const work = newWorkload();
  let pty: Pty | null = null;
  try {
    const d = await work.vfork(120, 'top-tty-d');
    const r = await work.spin(120);
    await waitForState([{ pid: d.pid, tid: d.pid }], 'D');
    await waitForState([{ pid: r.pid, tid: r.pid }], 'R');
    // A threshold that is never reached: nothing is kept, so the last thing top writes is the screen's restore.
    pty = new Pty(['top', '--source', 'procfs', '--interval', '500ms', '--threshold', '1000']);
    const dRow = new RegExp(` ${d.pid} top-tty-d$`);
    const first = await pty.screen((l) => l.some((x) => dRow.test(x)), `a row for pid ${d.pid}`);
    assert.match(first[0]!, /^loadmon top .* procfs {2}by process/);
    assert.match(first[4]!, /^trigger threshold 1000\.00 {2}cooldown left 0ms {2}captures 0 {2}last none$/);
    assert.ok(first.every((l) => Array.from(l).length <= 80));
    assert.match(first[23]!, /^q quit/);

    const cg = await pty.key('g', (l) => /by cgroup/.test(l[0] ?? ''), 'the cgroup grouping');
    assert.match(cg[5]!, /CAUSE +CGROUP$/);
    await pty.key('ggg', (l) => /by process/.test(l[0] ?? ''), 'back to processes');

    // Move the selection to the D process (rows from other tests' workloads may rank above or below
    // it, and their order changes between refreshes: step toward where it is now).
    let lines = pty.lines();
    for (let i = 0; i < 100 && !dRow.test(selected(lines)); i++) {
      const was = selected(lines);
      lines = await pty.key(stepToward(lines, dRow), (l) => selected(l) !== was, 'the selection moved');
    }
    assert.match(selected(lines), dRow);
    assert.match(selected(lines), /^> +[\d.]+% +0 +1 vfork/);

    const detail = await pty.key('\r', (l) => l[2]?.startsWith(`process ${d.pid} top-tty-d`) === true, 'the opened process');
    assert.ok(detail.includes(`tid ${d.pid}  D  vfork  pid ${d.pid} top-tty-d`), detail.join('\n'));
    assert.ok(
      detail.some((l) => /^ {4}(kernel_clone|__do_sys_vfork)\+0x[0-9a-f]+\/0x[0-9a-f]+$/.test(l)),
      `a kernel_clone or __do_sys_vfork frame: ${detail.join('\n')}`,
    );
    await pty.key('\x7f', (l) => /SHARE +R +D/.test(l[5] ?? ''), 'the table again (Backspace)');

    pty.send('q');
    assert.equal(await pty.exited, 0, pty.out.slice(-2000));
    assert.ok(pty.out.trimEnd().endsWith(LEAVE_ALT_SCREEN), `ends with the alternate-screen leave: ${JSON.stringify(pty.out.slice(-80))}`);
    assert.ok(pty.out.includes('\x1b[?1049h') && pty.out.includes('\x1b[?25h'), 'entered the alternate screen, showed the cursor again');
  } finally {
    if (pty && pty.child.exitCode === null) pty.child.kill('SIGKILL');
    await work.stop();
  }
});

/** The process `script` runs (the shell execs top, so it is loadmon itself). */
function viewerPid(scriptPid: number): number {
  return Number(readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').trim().split(/\s+/)[0]);
}

for (const [signal, status] of [
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  test(`top in a pty: ${signal} gives the terminal back before it exits ${status}`, async () => {
    const pty = new Pty(['top', '--source', 'procfs', '--interval', '500ms', '--threshold', '1000']);
    try {
      await pty.screen((l) => /^loadmon top /.test(l[0] ?? ''), 'the first screen');
      process.kill(viewerPid(pty.child.pid!), signal);
      assert.equal(await pty.exited, status, pty.out.slice(-2000));
      assert.ok(pty.out.trimEnd().endsWith(LEAVE_ALT_SCREEN), JSON.stringify(pty.out.slice(-80)));
      assert.ok(pty.out.lastIndexOf('\x1b[?25h') > pty.out.lastIndexOf('\x1b[?25l'), 'the cursor shown again');
    } finally {
      if (pty.child.exitCode === null) pty.child.kill('SIGKILL');
    }
  });
}

test('top in a pty: a resize (SIGWINCH) redraws at the new size', async () => {
  const pty = new Pty(['top', '--source', 'procfs', '--interval', '500ms', '--threshold', '1000']);
  try {
    await pty.screen((l) => /^q quit/.test(l[23] ?? '') && /^load /.test(l[1] ?? ''), 'the first screen at 80x24');
    // Resizing the pty is what a terminal window does: the kernel sends SIGWINCH to top.
    const tty = readlinkSync(`/proc/${viewerPid(pty.child.pid!)}/fd/1`);
    execFileSync('stty', ['-F', tty, 'cols', '50', 'rows', '12']);
    const small = await pty.screen(
      (l) => /^q quit/.test(l[11] ?? '') && /\/cpu/.test(l[1] ?? '') && l.slice(12).every((x) => x === ''),
      'a 50x12 screen',
    );
    assert.match(small[1]!, /^load [\d.]+ [\d.]+ [\d.]+ {2}\/cpu [\d.]+$/, 'the narrow header');
    for (const l of small) assert.ok(Array.from(l).length <= 50, l);
    pty.send('q');
    assert.equal(await pty.exited, 0);
  } finally {
    if (pty.child.exitCode === null) pty.child.kill('SIGKILL');
  }
});

test('top in a pty: colour (reverse-video selection) unless NO_COLOR is set and non-empty', async () => {
  const { NO_COLOR: _, ...plain } = process.env;
  for (const [env, coloured] of [
    [{ ...plain, TERM: 'xterm' }, true],
    [{ ...plain, TERM: 'xterm', NO_COLOR: '1' }, false],
  ] as const) {
    const pty = new Pty(['top', '--source', 'procfs', '--interval', '500ms', '--threshold', '1000'], env);
    try {
      await pty.screen((l) => /^q quit/.test(l[23] ?? '') && /SHARE/.test(l[5] ?? ''), 'the first screen');
      pty.send('q');
      assert.equal(await pty.exited, 0);
      assert.equal(pty.out.includes('\x1b[1m'), coloured, `bold table header with NO_COLOR ${coloured ? 'unset' : '1'}`);
    } finally {
      if (pty.child.exitCode === null) pty.child.kill('SIGKILL');
    }
  }
});

test('top in a pty: s keeps a capture, printed as the text snapshot after the screen is given back', async () => {
  const work = newWorkload();
  const pty = new Pty(['top', '--source', 'procfs', '--interval', '500ms', '--threshold', '1000']);
  try {
    const d = await work.vfork(120, 'top-tty-kept');
    await waitForState([{ pid: d.pid, tid: d.pid }], 'D');
    await pty.screen((l) => /^trigger threshold/.test(l[4] ?? ''), 'the first screen');
    const kept = await pty.key('s', (l) => /capture 1 kept/.test(l[0] ?? ''), 'the capture kept');
    assert.match(kept[4]!, /captures 1 {2}last \d\d:\d\d:\d\dZ$/);
    pty.send('q');
    assert.equal(await pty.exited, 0, pty.out.slice(-2000));
    const after = pty.out.slice(pty.out.lastIndexOf(LEAVE_ALT_SCREEN) + LEAVE_ALT_SCREEN.length).replace(/\r/g, '');
    assert.match(after, /^loadmon \d{4}-\d\d-\d\d .*source procfs$/m, after);
    assert.ok(after.includes(`top-tty-kept`), `the D process in the printed capture:\n${after}`);
  } finally {
    if (pty.child.exitCode === null) pty.child.kill('SIGKILL');
    await work.stop();
  }
});

test('top --db in a pty: s stores the capture (report --capture reads it); a held store is said, the capture printed', async () => {
  const work = newWorkload();
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-top-db-'));
  const db = join(dir, 'top.db');
  const held = join(dir, 'held.db');
  // Another writer holds `held` (as a running `record` would): this test process.
  const lock = acquireStoreLock(held);
  const ptys: Pty[] = [];
  try {
    const d = await work.vfork(120, 'top-tty-stored');
    await waitForState([{ pid: d.pid, tid: d.pid }], 'D');

    const pty = new Pty(['top', '--source', 'procfs', '--interval', '500ms', '--threshold', '1000', '--db', db]);
    ptys.push(pty);
    await pty.screen((l) => /^trigger threshold/.test(l[4] ?? ''), 'the first screen');
    await pty.key('s', (l) => /capture 1 kept; stored as #1$/.test(l[0] ?? ''), 'the capture stored');
    pty.send('q');
    assert.equal(await pty.exited, 0, pty.out.slice(-2000));
    assert.match(
      pty.out.replace(/\r/g, ''),
      /^loadmon: top: capture 1: stored in \S*top\.db as capture 1 \(report --db \S*top\.db --capture 1\)$/m,
    );
    const r = await runCli(['report', '--db', db, '--capture', '1', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const snap = JSON.parse(r.stdout) as Snapshot;
    assert.ok(
      snap.tasks.some((t) => t.pid === d.pid && t.state === 'D'),
      'the D task in the stored capture',
    );

    const refused = new Pty(['top', '--source', 'procfs', '--interval', '500ms', '--threshold', '1000', '--db', held]);
    ptys.push(refused);
    await refused.screen((l) => /^trigger threshold/.test(l[4] ?? ''), 'the first screen');
    await refused.key('s', (l) => /capture 1 kept; not stored/.test(l[0] ?? ''), 'the refusal in the status line');
    refused.send('q');
    assert.equal(await refused.exited, 0, refused.out.slice(-2000));
    const after = refused.out.replace(/\r/g, '');
    assert.match(after, new RegExp(`^loadmon: top: capture 1: not stored: .*already being recorded into by .*pid ${process.pid}`, 'm'));
    assert.ok(after.includes('top-tty-stored'), 'the capture printed all the same');
  } finally {
    for (const p of ptys) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    lock.release();
    await work.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
