import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import { LoadmonError } from '../../src/errors.ts';
import { isLoopback, parseListen } from '../../src/web/listen.ts';
import { hostName } from '../../src/web/security.ts';
import { buildServer } from '../../src/web/server.ts';
import { writeFixtureStore } from '../helpers/web.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-web-sec-'));
const db = join(dir, 'web.db');
const TOKEN = 's3cret-token-for-tests';
let open: FastifyInstance;
let guarded: FastifyInstance;

before(async () => {
  writeFixtureStore(db);
  ({ app: open } = await buildServer({ db, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} }));
  ({ app: guarded } = await buildServer({ db, token: TOKEN, listenHost: '0.0.0.0', recording: false, log: () => {} }));
});
after(async () => {
  await open.close();
  await guarded.close();
  rmSync(dir, { recursive: true, force: true });
});

const EVERYWHERE = [
  '/',
  '/index.html',
  '/js/main.js',
  '/app.css',
  '/vendor/uPlot.esm.js',
  '/api/meta',
  '/api/timeline',
  '/api/captures',
  '/api/captures/1',
  '/api/captures/1/flame',
  '/api/captures/1/export/svg',
  '/api/report',
  '/api/flame',
  '/api/export/folded',
  '/metrics',
  '/no-such-page',
];

test('web security: with a token, a request without it or with a wrong one is 401 everywhere, /metrics and static files too', async () => {
  const wrong = [undefined, 'Bearer nope', `Bearer ${TOKEN}x`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, TOKEN, 'Bearer'];
  for (const url of EVERYWHERE) {
    for (const authorization of wrong) {
      const r = await guarded.inject({ url, headers: authorization === undefined ? {} : { authorization } });
      assert.equal(r.statusCode, 401, `${url} with ${authorization}`);
      assert.equal(r.json().error.code, 'E_HTTP_UNAUTHORIZED');
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="loadmon"');
      assert.ok(r.headers['content-security-policy'], 'security headers on refusals too');
    }
    const bad = await guarded.inject({ url, cookies: { loadmon_token: 'f'.repeat(64) } });
    assert.equal(bad.statusCode, 401, `${url} with a forged cookie`);
  }
});

test('web security: the right bearer token, or the cookie /login sets, opens every endpoint', async () => {
  for (const url of EVERYWHERE) {
    const r = await guarded.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.statusCode, url === '/no-such-page' ? 404 : 200, url);
  }
  const badLogin = await guarded.inject({ url: '/login?token=wrong' });
  assert.equal(badLogin.statusCode, 401);
  assert.equal(badLogin.headers['set-cookie'], undefined);
  assert.equal((await guarded.inject({ url: '/login' })).statusCode, 400);

  const login = await guarded.inject({ url: `/login?token=${encodeURIComponent(TOKEN)}` });
  assert.equal(login.statusCode, 303);
  assert.equal(login.headers.location, '/');
  const cookie = String(login.headers['set-cookie']);
  assert.match(cookie, /^loadmon_token=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/);
  assert.ok(!cookie.includes(TOKEN), 'the cookie holds a hash, not the token');
  const value = /^loadmon_token=([0-9a-f]+)/.exec(cookie)![1]!;
  for (const url of ['/', '/api/meta', '/metrics']) {
    assert.equal((await guarded.inject({ url, cookies: { loadmon_token: value } })).statusCode, 200, url);
  }
});

test('web security: restrictive headers on every response; no inline script is allowed', async () => {
  for (const url of ['/', '/api/meta', '/metrics', '/api/captures/abc', '/nope']) {
    const r = await open.inject({ url, headers: { host: 'localhost:9640' } });
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    if (url.startsWith('/api') || url === '/metrics') assert.equal(r.headers['cache-control'], 'no-store', url);
  }
});

test('web security: without a token, only loopback Host names are answered (DNS rebinding)', async () => {
  for (const host of ['127.0.0.1:9640', 'localhost:9640', '[::1]:9640', 'localhost', '127.0.0.2']) {
    assert.equal((await open.inject({ url: '/api/meta', headers: { host } })).statusCode, 200, host);
  }
  for (const host of ['evil.example:9640', 'evil.example', '10.0.0.5:9640', 'localhost.evil.example']) {
    const r = await open.inject({ url: '/api/meta', headers: { host } });
    assert.equal(r.statusCode, 403, host);
    assert.equal(r.json().error.code, 'E_HTTP_FORBIDDEN');
  }
  assert.equal(
    (await open.inject({ url: '/login?token=x', headers: { host: 'localhost' } })).statusCode,
    303,
    '/login without a token configured goes to the page',
  );
});

test('web security: --listen parsing and what counts as loopback', () => {
  assert.deepEqual(parseListen('127.0.0.1:9640'), { host: '127.0.0.1', port: 9640, text: '127.0.0.1:9640' });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0, text: '[::1]:0' });
  assert.equal(parseListen('localhost:8080').host, 'localhost');
  for (const bad of ['9640', '127.0.0.1', '127.0.0.1:99999', '[nothost]:1', ':9640', 'a b:1', '127.0.0.1:-1']) {
    assert.throws(
      () => parseListen(bad),
      (e: unknown) => e instanceof LoadmonError && e.code === 'E_INVALID_OPTION' && e.message.includes('--listen'),
      bad,
    );
  }
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '128.0.0.1', '::ffff:10.0.0.1'])
    assert.equal(isLoopback(h), false, h);
  assert.equal(hostName('[::1]:80'), '::1');
  assert.equal(hostName('LocalHost:80'), 'localhost');
  assert.equal(hostName('a:b:c'), null);
});
