import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import Database from 'better-sqlite3';

import { LoadmonError } from '../../src/errors.ts';
import { StoreAccess } from '../../src/web/store-access.ts';
import { writeFixtureStore } from '../helpers/web.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-web-store-access-'));
const db = join(dir, 'web.db');
writeFixtureStore(db);
after(() => rmSync(dir, { recursive: true, force: true }));

test('store access: a bug in a request (not a SQLite error) is not reported as an unreadable store and keeps the connection', () => {
  const access = new StoreAccess(db);
  const reader = access.use((r) => r);
  const bug = new RangeError('Invalid time value');
  assert.throws(
    () =>
      access.use(() => {
        throw bug;
      }),
    (err: unknown) => err === bug,
  );
  assert.equal(
    access.use((r) => r),
    reader,
    'same connection',
  );
  access.close();
});

test('store access: a SQLite error is a 503 naming the store and drops the connection (reopened on the next request)', () => {
  const access = new StoreAccess(db);
  const reader = access.use((r) => r);
  assert.throws(
    () =>
      access.use(() => {
        throw new Database.SqliteError('disk I/O error', 'SQLITE_IOERR');
      }),
    (err: unknown) => err instanceof LoadmonError && err.code === 'E_HTTP_UNAVAILABLE' && err.message.includes(db),
  );
  const again = access.use((r) => r);
  assert.notEqual(again, reader, 'a new connection');
  access.close();
});

test('store access: a reader over a private copy that went stale is replaced on the next request', () => {
  const access = new StoreAccess(db);
  const reader = access.use((r) => r);
  assert.equal(
    access.use((r) => r),
    reader,
    'read in place: never stale, same connection',
  );
  // As the copy-backed reader says when the store changed since its copy was taken.
  reader.stale = () => true;
  const again = access.use((r) => r);
  assert.notEqual(again, reader, 'a new connection (a fresh copy)');
  access.close();
});
