/**
 * One export renderer (src/format/export.ts) for `loadmon report` and the
 * API's downloads (issue 12 item 2): the same bytes from both, for a
 * capture and for a period, in every export format.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { reportCommand } from '../../src/cli/commands/report.ts';
import { EXPORT_FORMATS, exportPeriod, foldCaptures } from '../../src/format/export.ts';
import { foldSnapshots } from '../../src/format/folded.ts';
import type { Report } from '../../src/model/report.ts';
import { EXPORTER } from '../../src/version.ts';
import { fixtureServer, HOUR, T_END, verdictFixtures } from '../helpers/web.ts';

const served = fixtureServer('loadmon-export-', 'export.db');
const { dir, db, get } = served;

/** What `loadmon report ...` writes with --out. */
function cli(args: Record<string, string>): Buffer {
  const out = join(
    dir,
    `out-${Object.values(args)
      .join('-')
      .replace(/[^\w.-]/g, '_')}`,
  );
  reportCommand({ db, out, ...args });
  return readFileSync(out);
}

const TYPES = {
  folded: 'text/plain; charset=utf-8',
  speedscope: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json; charset=utf-8',
  pprof: 'application/octet-stream',
};
const EXT = { folded: '.folded', speedscope: '.speedscope.json', svg: '.svg', json: '.json', pprof: '.pb.gz' };

for (const format of EXPORT_FORMATS) {
  test(`a capture as ${format}: the CLI writes what the API sends`, async () => {
    const id = served.fx.captureIds[1]!;
    const api = await get(`/api/captures/${id}/export/${format}`);
    assert.equal(api.statusCode, 200);
    assert.equal(api.headers['content-type'], TYPES[format]);
    assert.equal(api.headers['content-disposition'], `attachment; filename="loadmon-capture-${id}${EXT[format]}"`);
    assert.deepEqual(cli({ capture: String(id), format }), api.rawPayload);
  });

  test(`a period as ${format}: the CLI writes what the API sends`, async () => {
    const from = T_END - HOUR / 2;
    const to = T_END;
    const api = await get(`/api/export/${format}?from=${from}&to=${to}`);
    assert.equal(api.statusCode, 200);
    assert.equal(api.headers['content-type'], TYPES[format]);
    const ext = format === 'json' ? '.report.json' : EXT[format];
    assert.equal(api.headers['content-disposition'], `attachment; filename="loadmon-20261127T133000Z-20261127T140000Z${ext}"`);
    // The API's report keeps the top 50 of each list.
    const bytes = cli({ since: new Date(from).toISOString(), until: new Date(to).toISOString(), format, top: '50' });
    assert.deepEqual(bytes, api.rawPayload);
    const body = bytes.toString('utf8');
    if (format === 'speedscope') assert.equal(JSON.parse(body).exporter, EXPORTER);
    if (format === 'speedscope' || format === 'svg')
      assert.match(
        body,
        new RegExp(`loadmon: ${served.fx.captureIds.length} capture\\(s\\), 2026-11-27T13:30:00\\.000Z \\.\\. 2026-11-27T14:00:00\\.000Z`),
      );
  });
}

test('foldCaptures: counts the snapshots as they stream by and folds them like foldSnapshots', () => {
  const snaps = verdictFixtures().map((f) => f.snapshot);
  let pulled = 0;
  const stream = (function* () {
    for (const s of snaps) {
      pulled++;
      yield s;
    }
  })();
  const folded = foldCaptures(stream);
  assert.equal(folded.captures, snaps.length);
  assert.equal(pulled, snaps.length);
  assert.deepEqual(folded.stacks, foldSnapshots(snaps));
});

test('a period export reads only what its format needs; an empty store is named so', () => {
  const calls: string[] = [];
  const period = {
    range: null,
    report: (): Report => {
      calls.push('report');
      return { schema: 'loadmon.report/v1' } as Report;
    },
    folded: () => {
      calls.push('folded');
      return { captures: 0, stacks: [] };
    },
  };
  const json = exportPeriod(period, 'json');
  assert.deepEqual([json.fileName, JSON.parse(json.body)], ['loadmon-empty.report.json', { schema: 'loadmon.report/v1' }]);
  assert.deepEqual(calls, ['report']);
  const folded = exportPeriod(period, 'speedscope');
  assert.deepEqual(calls, ['report', 'folded']);
  assert.equal(JSON.parse(folded.body).name, 'loadmon: 0 capture(s), empty store');
});
