import assert from 'node:assert/strict';
import { test } from 'node:test';

import { getOrCreate } from '../../src/model/maps.ts';

test('getOrCreate: makes and stores a missing value once, then returns the stored one', () => {
  const m = new Map<string, number[]>();
  let made = 0;
  const make = (): number[] => {
    made++;
    return [];
  };
  const a = getOrCreate(m, 'k', make);
  a.push(1);
  const b = getOrCreate(m, 'k', make);
  assert.equal(b, a);
  assert.deepEqual(m.get('k'), [1]);
  assert.equal(made, 1);
});

test('getOrCreate: falsy values are values (0, empty string), only undefined is missing', () => {
  const m = new Map<string, number | string>([
    ['zero', 0],
    ['empty', ''],
  ]);
  assert.equal(
    getOrCreate(m, 'zero', () => 7),
    0,
  );
  assert.equal(
    getOrCreate(m, 'empty', () => 'x'),
    '',
  );
  assert.equal(
    getOrCreate(m, 'new', () => 7),
    7,
  );
  assert.equal(m.get('new'), 7);
});
