import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import { parseTimePoint } from '../../src/cli/parse-store-values.ts';
import { LoadmonError } from '../../src/errors.ts';
import type { StoreReader } from '../../src/store/reader.ts';
import { parseTime } from '../../src/web/params.ts';
import { buildServer } from '../../src/web/server.ts';
import { StoreAccess } from '../../src/web/store-access.ts';
import { T_END, writeFixtureStore } from '../helpers/web.ts';

/** The last millisecond of year 9999: the latest time a 4-digit ISO year can name. */
const MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Times both the API (from/to) and the CLI (--since/--until) take, and what they mean. */
const VALID: Array<[string, number]> = [
  ['2026-11-27', Date.UTC(2026, 10, 27)],
  ['2026-11-27T13:00', Date.UTC(2026, 10, 27, 13)],
  ['2026-11-27 13:00:05', Date.UTC(2026, 10, 27, 13, 0, 5)],
  ['2026-11-27T13:00:05.25Z', Date.UTC(2026, 10, 27, 13, 0, 5, 250)],
  ['2026-11-27T13:00:00+02:00', Date.UTC(2026, 10, 27, 11)],
  ['2026-11-27T13:00:00-0530', Date.UTC(2026, 10, 27, 18, 30)],
  ['2028-02-29', Date.UTC(2028, 1, 29)],
  ['2000-02-29T23:59:59Z', Date.UTC(2000, 1, 29, 23, 59, 59)],
  ['1970-01-01T00:00:00Z', 0],
  ['9999-12-31T23:59:59.999Z', MAX],
];

/** Times that name no real instant, or one outside 1970..9999. */
const INVALID = [
  '2026-02-30', // 2 March to Date.parse
  '2026-02-29', // not a leap year
  '1900-02-29', // not a leap year either (century)
  '2026-04-31',
  '2026-13-01',
  '2026-00-10',
  '2026-01-00',
  '2026-01-01T24:00', // midnight of the next day to Date.parse
  '2026-01-01T23:60',
  '2026-01-01T23:59:60', // leap seconds cannot be represented
  '2026-01-01T12:00+24:00',
  '2026-01-01T12:00+01:60',
  '1969-12-31T23:59:59Z',
  '1970-01-01T00:30:00+01:00', // before the epoch once the offset is applied
  '0000-01-01',
  '9999-12-31T23:00:00-05:00', // year 10000 in UTC
];

test('web params: from/to take epoch milliseconds and real ISO dates', () => {
  assert.equal(parseTime('from', '0'), 0);
  assert.equal(parseTime('from', String(T_END)), T_END);
  assert.equal(parseTime('to', String(MAX)), MAX);
  for (const [s, ms] of VALID) assert.equal(parseTime('from', s), ms, s);
  assert.equal(parseTime('from', undefined), null);
  assert.equal(parseTime('from', ''), null);
});

function assertBadRequest(fn: () => unknown, name: string, what: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LoadmonError, `${what}: ${String(err)}`);
    assert.equal(err.code, 'E_HTTP_BAD_REQUEST', what);
    assert.match(err.message, new RegExp(`^${name}: `), what);
    return true;
  });
}

test('web params: epoch milliseconds beyond year 9999 are a 400 naming the parameter, not a RangeError', () => {
  for (const s of [String(MAX + 1), '9999999999999999', '99999999999999999999', '8640000000000001']) {
    assertBadRequest(() => parseTime('from', s), 'from', s);
    assertBadRequest(() => parseTime('to', s), 'to', s);
  }
});

test('web params: impossible or out-of-range ISO dates are a 400 naming the parameter', () => {
  for (const s of INVALID) assertBadRequest(() => parseTime('to', s), 'to', s);
});

test('cli --since/--until: the same times are accepted, the same ones refused with E_INVALID_OPTION (exit 2)', () => {
  const now = Date.UTC(2026, 10, 27, 12);
  for (const [s, ms] of VALID) assert.equal(parseTimePoint('--since', s, now), ms, s);
  for (const s of INVALID) {
    assert.throws(
      () => parseTimePoint('--until', s, now),
      (err: unknown) =>
        err instanceof LoadmonError && err.code === 'E_INVALID_OPTION' && err.exitStatus === 2 && err.message.includes('--until'),
      s,
    );
  }
});

/** A StoreAccess that counts how often a request reached the store connection. */
class CountingAccess extends StoreAccess {
  uses = 0;
  closes = 0;
  override use<T>(fn: (r: StoreReader) => T): T {
    this.uses++;
    return super.use(fn);
  }
  override close(): void {
    this.closes++;
    super.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'loadmon-web-params-'));
const db = join(dir, 'web.db');
let app: FastifyInstance;
let access: CountingAccess;

before(async () => {
  writeFixtureStore(db);
  access = new CountingAccess(db);
  ({ app } = await buildServer({ db, token: null, listenHost: '127.0.0.1', recording: false, log: () => undefined }, access));
});
after(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string) => app.inject({ method: 'GET', url, headers: { host: '127.0.0.1:9640' } });

const RANGED = ['/api/report', '/api/timeline', '/api/captures', '/api/flame', '/api/export/folded', '/api/export/json'];

test('web api: an out-of-range or impossible time is a 400 on every ranged endpoint and never touches the store connection', async () => {
  await get('/api/meta'); // the connection is open
  const before = { uses: access.uses, closes: access.closes };
  for (const path of RANGED) {
    for (const [param, value] of [
      ['from', '9999999999999999'],
      ['to', '99999999999999999999'],
      ['from', '2026-02-30'],
      ['to', '2026-01-01T24:00'],
    ] as const) {
      const r = await get(`${path}?${param}=${value}`);
      assert.equal(r.statusCode, 400, `${path}?${param}=${value}: ${r.body}`);
      const body = JSON.parse(r.body) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'E_HTTP_BAD_REQUEST');
      assert.match(body.error.message, new RegExp(`^${param}: `), body.error.message);
    }
    // Both bounds valid but in the wrong order: also decided without the store.
    const r = await get(`${path}?from=${T_END}&to=${T_END - 1}`);
    assert.equal(r.statusCode, 400, r.body);
  }
  assert.deepEqual({ uses: access.uses, closes: access.closes }, before);
  const ok = await get(`/api/report?from=${T_END - 60_000}&to=${MAX}`);
  assert.equal(ok.statusCode, 200, ok.body);
});
