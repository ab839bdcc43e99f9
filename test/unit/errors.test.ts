/**
 * One error model (issue 12, item 3): every code has its exit and HTTP
 * status in one table, errors carry what they are about as fields, store
 * errors name no option, and the CLI words them as the option they came from.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { inOptionWords } from '../../src/cli/main.ts';
import {
  captureNotFound,
  ERROR_TABLE,
  httpStatus,
  invalidOption,
  LoadmonError,
  sourceUnavailable,
  storeMissing,
} from '../../src/errors.ts';

test('every code has an exit status (1 or 2) and an HTTP status, and errors take both from the table', () => {
  for (const [code, { exit, http }] of Object.entries(ERROR_TABLE)) {
    assert.ok(exit === 1 || exit === 2, `${code}: exit ${exit}`);
    assert.ok(http >= 400 && http <= 599, `${code}: http ${http}`);
    const err = new LoadmonError(code as keyof typeof ERROR_TABLE, 'x');
    assert.equal(err.exitStatus, exit);
    assert.equal(httpStatus(err), http);
  }
  assert.equal(httpStatus(new Error('plain')), 500);
});

test('the HTTP statuses the API documents (docs/api.md)', () => {
  const want: Record<string, number> = {
    E_HTTP_BAD_REQUEST: 400,
    E_HTTP_UNAUTHORIZED: 401,
    E_HTTP_FORBIDDEN: 403,
    E_HTTP_NOT_FOUND: 404,
    E_CAPTURE_NOT_FOUND: 404,
    E_HTTP_UNAVAILABLE: 503,
    E_STORE_MISSING: 503,
    E_STORE: 503,
    E_INVALID_OPTION: 500,
  };
  for (const [code, http] of Object.entries(want)) assert.equal(ERROR_TABLE[code as keyof typeof ERROR_TABLE].http, http, code);
});

test('fields say what an error is about, so nobody parses the message', () => {
  assert.deepEqual(sourceUnavailable('bpf', 'no BTF').fields, { source: 'bpf', reason: 'no BTF' });
  assert.deepEqual(invalidOption('--depth', '99', 'too deep').fields, { option: '--depth', value: '99', reason: 'too deep' });
  assert.equal(storeMissing('/x.db').fields.path, '/x.db');
});

test('store errors name no option; the CLI says them as --db and --capture, code and exit status kept', () => {
  const missing = storeMissing('/x.db');
  assert.doesNotMatch(missing.message, /--/);
  const cli = inOptionWords(missing);
  assert.equal(cli.message, "invalid value for --db: '/x.db' (no loadmon store there; run loadmon record first)");
  assert.equal(cli.code, 'E_STORE_MISSING');
  assert.equal(cli.exitStatus, 2);
  assert.equal(cli.cause, missing);

  const capture = captureNotFound('7');
  assert.doesNotMatch(capture.message, /--/);
  assert.equal(inOptionWords(capture).message, "invalid value for --capture: '7' (no such capture in the store)");

  // Not a store error: left as it is.
  const other = invalidOption('--depth', '99', 'too deep');
  assert.equal(inOptionWords(other), other);
});
