/**
 * Downloads, in the formats `loadmon report` writes:
 * GET /api/captures/:id/export/:format   folded | speedscope | svg | json (the snapshot) | pprof
 * GET /api/export/:format?from&to        folded | speedscope | svg | json (the report) | pprof
 * (pprof: a gzipped profile.proto, sent as bytes; a period's is built from
 * at most `limit` captures, as the flame graphs are, and all its measured blocked time)
 * Sent as attachments: the SVG's own search script then runs from the
 * user's disk, not under this server's Content-Security-Policy.
 */

import type { FastifyInstance, FastifyReply } from 'fastify';

import { buildReport } from '../../analyze/report.ts';
import { httpNotFound } from '../../errors.ts';
import { EXPORT_FORMATS, type ExportFile, exportCapture, exportPeriod } from '../../format/export.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import type { StoreReader } from '../../store/reader.ts';
import type { ApiContext } from '../context.ts';
import { parseChoice, parseId, parseInteger, parseRangeQuery, resolveRange } from '../params.ts';
import { foldRange } from '../views.ts';

function attach(reply: FastifyReply, file: ExportFile): FastifyReply {
  return reply
    .type(file.contentType)
    .header('content-disposition', `attachment; filename="${file.fileName}"`)
    .header('cache-control', 'no-store')
    .send(typeof file.body === 'string' ? file.body : Buffer.from(file.body.buffer, file.body.byteOffset, file.body.byteLength));
}

/** The newest `limit` captures of the range (as the flame graphs fold them), read one at a time. */
function* snapshotsIn(store: StoreReader, range: { from: number; to: number }, limit: number): Generator<Snapshot> {
  for (const r of store.capturesInRange(range.from, range.to, limit).rows) yield store.snapshot(r.id);
}

export async function exportRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/api/captures/:id/export/:format', async (req, reply) => {
    const p = req.params as Record<string, unknown>;
    const id = parseId(p.id);
    const format = parseChoice('format', p.format, EXPORT_FORMATS);
    return ctx.store.use((s) => {
      if (!s.captureRow(id)) throw httpNotFound(`no capture ${id} in the store`);
      return attach(reply, exportCapture(id, s.snapshot(id), format));
    });
  });

  app.get('/api/export/:format', async (req, reply) => {
    const format = parseChoice('format', (req.params as Record<string, unknown>).format, EXPORT_FORMATS);
    const q = req.query as Record<string, unknown>;
    const limit = parseInteger('limit', q.limit, 1, 100_000, 10_000);
    const rq = parseRangeQuery(q);
    return ctx.store.use((s) => {
      const range = resolveRange(rq, s.span());
      const period = {
        range,
        report: () => buildReport(s, { since: range.from, until: range.to, top: 50 }),
        folded: () => foldRange(s, range, limit),
        profile: () => ({ snapshots: snapshotsIn(s, range, limit), blocked: s.offcpuTotals(range.from, range.to) }),
      };
      return attach(reply, exportPeriod(period, format));
    });
  });
}
