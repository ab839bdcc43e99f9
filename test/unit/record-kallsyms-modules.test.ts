/**
 * KallsymsCache on a kernel without /proc/modules (CONFIG_MODULES=n, as on
 * the development VM): the absence is remembered until the next kallsyms
 * reload, instead of a failed open at every lookup of every sample.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mock, test } from 'node:test';

import { KallsymsCache } from '../../src/bpf/kallsyms.ts';

const KALLSYMS = 'ffffffff81000000 T _stext\nffffffff81001000 T schedule\nffffffff81002000 T io_schedule\n';

test('a missing /proc/modules is looked for again only at the next kallsyms reload', () => {
  const root = mkdtempSync(join(tmpdir(), 'loadmon-kallsyms-'));
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  try {
    writeFileSync(join(root, 'kallsyms'), KALLSYMS);
    const cache = new KallsymsCache(root);
    const first = cache.symbols();
    assert.deepEqual(cache.symbolize([0xffffffff81001010n]), ['schedule+0x10/0x1000']);
    // A modules file appearing now is not seen: its absence was remembered.
    writeFileSync(join(root, 'modules'), 'ext4 1000 0 - Live 0xffffffffc0000000\n');
    assert.equal(cache.symbols(), first);
    // A miss past the reload interval reloads kallsyms, and modules is read again.
    mock.timers.tick(60_000);
    cache.symbolize([0x1000n]);
    const second = cache.symbols();
    assert.notEqual(second, first);
    assert.equal(cache.symbols(), second);
    // Present now, so a change of it reloads, as with modules on any kernel.
    writeFileSync(join(root, 'modules'), 'xfs 2000 0 - Live 0xffffffffc0100000\n');
    assert.notEqual(cache.symbols(), second);
  } finally {
    mock.timers.reset();
    rmSync(root, { recursive: true, force: true });
  }
});
