import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';

import { runCli } from '../helpers/cli.ts';
import { scratch, startServe, stopChild } from '../helpers/processes.ts';
import { writeFixtureStore } from '../helpers/web.ts';

const { dir, children } = scratch('loadmon-e2e-serve-');
const db = join(dir, 'web.db');

before(() => writeFixtureStore(db));

test('serve: port 0 works, the URL is printed on stderr, the API answers over real HTTP, SIGTERM exits 0', async () => {
  const { child, url } = await startServe(['--db', db, '--listen', '127.0.0.1:0'], { children });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.notEqual(new URL(url).port, '0');
  const meta = (await (await fetch(`${url}api/meta`)).json()) as { captures_stored: number; recording: boolean };
  assert.equal(meta.captures_stored, 12);
  assert.equal(meta.recording, false);
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(await stopChild(child), 0);
});

test('serve: a non-loopback address without a token refuses to start and says why (exit 2)', async () => {
  for (const listen of ['0.0.0.0:0', '[::]:0', '10.1.2.3:9640']) {
    const env = { ...process.env };
    delete env.LOADMON_TOKEN;
    const r = await runCli(['serve', '--db', db, '--listen', listen], { env, timeoutMs: 15_000 });
    assert.equal(r.code, 2, `${listen}: ${r.stderr}`);
    assert.match(r.stderr, /--listen/);
    assert.match(r.stderr, /token/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('serve: with LOADMON_TOKEN it listens beyond loopback and wants the token on every request', async () => {
  const token = 'e2e-token-1234567890';
  const { child, url } = await startServe(['--db', db, '--listen', '0.0.0.0:0'], {
    env: { ...process.env, LOADMON_TOKEN: token },
    children,
  });
  const local = url.replace('0.0.0.0', '127.0.0.1');
  for (const path of ['', 'api/meta', 'metrics', 'js/main.js']) {
    assert.equal((await fetch(`${local}${path}`)).status, 401, path);
    assert.equal((await fetch(`${local}${path}`, { headers: { authorization: `Bearer ${token}` } })).status, 200, path);
  }
  assert.equal(await stopChild(child), 0);
});

test('serve: option mistakes exit 2 with one line naming the option', async () => {
  const cases: Array<[string[], string]> = [
    [['serve', '--db', join(dir, 'none.db'), '--listen', '127.0.0.1:0'], '--db'],
    [['serve', '--db', db, '--listen', 'localhost'], '--listen'],
    [['serve', '--db', db, '--listen', '127.0.0.1:70000'], '--listen'],
    [['serve', '--db', db, '--token', 'short'], '--token'],
    [['serve', '--db', db, '--record', '--sample', '0s', '--listen', '127.0.0.1:0'], '--sample'],
    // Record options without --record would be silently ignored: refused instead.
    [['serve', '--db', db, '--listen', '127.0.0.1:0', '--source', 'bpf'], '--source'],
    [['serve', '--db', db, '--listen', '127.0.0.1:0', '--threshold', '2'], '--threshold'],
  ];
  for (const [args, option] of cases) {
    const r = await runCli(args, { timeoutMs: 15_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(option), r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('serve: an address in use is exit 1 with one line', async () => {
  const { child, url } = await startServe(['--db', db, '--listen', '127.0.0.1:0'], { children });
  const r = await runCli(['serve', '--db', db, '--listen', `127.0.0.1:${new URL(url).port}`], { timeoutMs: 15_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  assert.equal(await stopChild(child), 0);
});
