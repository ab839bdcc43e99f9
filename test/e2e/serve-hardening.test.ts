/**
 * What reaches the server before (or instead of) a route: malformed URLs,
 * oversized requests, methods and bodies the server has no use for. Every
 * answer must be the API's JSON error with the security headers, whichever
 * layer refused the request (fastify's router, its body parser, Node's HTTP
 * parser). Real sockets against a server listening on port 0: inject()
 * bypasses Node's HTTP parser, which is where the 431 comes from.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import { SECURITY_HEADERS } from '../../src/web/security.ts';
import { runCli } from '../helpers/cli.ts';
import { ChildSet, startServe, stopChild } from '../helpers/processes.ts';
import { loopbackServer, writeFixtureStore } from '../helpers/web.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-e2e-serve-hardening-'));
const db = join(dir, 'web.db');
const logged: string[] = [];
const children = new ChildSet();
let app: FastifyInstance;
let port: number;

before(async () => {
  writeFixtureStore(db);
  app = await loopbackServer(db, { log: (l) => logged.push(l) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
after(async () => {
  children.killAll();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Sends bytes as they are (no client-side URL or header validation), reads until the server closes. */
function rawRequest(request: string, p = port): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(p, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000);
    socket.on('data', (d) => chunks.push(d));
    // The server may reset the connection after answering (it did not read the whole request).
    socket.on('error', (err) => (chunks.length > 0 ? undefined : reject(err)));
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no complete response: ${JSON.stringify(text.slice(0, 300))}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const length = Number(headers.get('content-length'));
      const body = Buffer.from(text.slice(split + 4), 'utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]), headers, body: body.subarray(0, length).toString('utf8') });
    });
  });
}

const HOST = 'Host: 127.0.0.1\r\nConnection: close\r\n';

function assertApiError(r: RawResponse, status: number, code: string, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.body}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
  const body = JSON.parse(r.body) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error'], what);
  assert.equal(body.error.code, code, what);
  assert.ok(body.error.message.length > 0 && body.error.message.length < 400, `${what}: ${body.error.message}`);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(r.headers.get(name), value, `${what}: header ${name}`);
  assert.equal(r.headers.get('cache-control'), 'no-store', what);
}

test('serve: a malformed URL (FST_ERR_BAD_URL) is the API JSON error with the security headers', async () => {
  for (const path of ['/%E0%A4%A', '/api/captures/%', '/api/meta/%zz']) {
    assertApiError(await rawRequest(`GET ${path} HTTP/1.1\r\n${HOST}\r\n`), 400, 'E_HTTP_BAD_REQUEST', path);
  }
});

test('serve: a path parameter over the router limit (414) is the API JSON error with the security headers', async () => {
  const path = `/api/captures/${'1'.repeat(300)}`;
  assertApiError(await rawRequest(`GET ${path} HTTP/1.1\r\n${HOST}\r\n`), 414, 'E_HTTP_BAD_REQUEST', 'long id');
});

test("serve: a request head over Node's 16 KiB limit (431) is the API JSON error with the security headers", async () => {
  assertApiError(
    await rawRequest(`GET /api/meta?x=${'a'.repeat(20_000)} HTTP/1.1\r\n${HOST}\r\n`),
    431,
    'E_HTTP_BAD_REQUEST',
    'long query',
  );
  assertApiError(
    await rawRequest(`GET /api/meta HTTP/1.1\r\n${HOST}X-Big: ${'b'.repeat(20_000)}\r\n\r\n`),
    431,
    'E_HTTP_BAD_REQUEST',
    'long header',
  );
});

test("serve: requests Node's HTTP parser refuses (unknown method, bad header name) are the API JSON error", async () => {
  assertApiError(await rawRequest(`FOO / HTTP/1.1\r\n${HOST}\r\n`), 400, 'E_HTTP_BAD_REQUEST', 'method FOO');
  assertApiError(await rawRequest(`GET / HTTP/1.1\r\n${HOST}Bad Header: x\r\n\r\n`), 400, 'E_HTTP_BAD_REQUEST', 'header name with a space');
});

test('serve: methods and bodies no route takes are JSON errors with the security headers', async () => {
  assertApiError(await rawRequest(`PROPFIND / HTTP/1.1\r\n${HOST}\r\n`), 404, 'E_HTTP_NOT_FOUND', 'PROPFIND');
  const weird = `POST /api/meta HTTP/1.1\r\n${HOST}Content-Type: application/x-weird\r\nContent-Length: 3\r\n\r\nabc`;
  assertApiError(await rawRequest(weird), 404, 'E_HTTP_NOT_FOUND', 'POST, unknown content type');
  const big = `{"a":"${'x'.repeat(4992)}"}`;
  const large = `POST /api/meta HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`;
  assertApiError(await rawRequest(large), 413, 'E_HTTP_BAD_REQUEST', 'body over the limit');
});

test('serve: the server still answers normally after all of that, and logged no internal error', async () => {
  const r = await rawRequest(`GET /api/meta HTTP/1.1\r\n${HOST}\r\n`);
  assert.equal(r.status, 200, r.body);
  assert.equal((JSON.parse(r.body) as { captures_stored: number }).captures_stored, 12);
  assert.deepEqual(logged, []);
});

test('serve: LOADMON_TOKEN= (empty) on loopback means no token; beyond loopback it still refuses (exit 2)', async () => {
  const env = { ...process.env, LOADMON_TOKEN: '' };
  const { child, url } = await startServe(['--db', db, '--listen', '127.0.0.1:0'], { env, children });
  const meta = await fetch(`${url}api/meta`);
  assert.equal(meta.status, 200, 'no token asked for');
  await stopChild(child);
  const r = await runCli(['serve', '--db', db, '--listen', '0.0.0.0:0'], { env, timeoutMs: 15_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--listen.*not a loopback address/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
