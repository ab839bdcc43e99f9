/**
 * Downloads, in the formats `loadmon report` writes:
 * GET /api/captures/:id/export/:format   folded | speedscope | svg | json (the snapshot)
 * GET /api/export/:format?from&to        folded | speedscope | svg | json (the report)
 * Sent as attachments: the SVG's own search script then runs from the
 * user's disk, not under this server's Content-Security-Policy.
 */

import type { FastifyInstance, FastifyReply } from 'fastify';

import { buildReport } from '../../analyze/report.ts';
import { httpNotFound } from '../../errors.ts';
import { renderFlameGraph } from '../../format/flamegraph.ts';
import { type FoldedStack, foldSnapshots, formatFolded } from '../../format/folded.ts';
import { toSpeedscope } from '../../format/speedscope.ts';
import { type ApiContext, EXPORTER } from '../context.ts';
import { parseChoice, parseId, parseInt, parseRangeQuery, resolveRange } from '../params.ts';
import { foldRange } from '../views.ts';

export const EXPORT_FORMATS = ['folded', 'speedscope', 'svg', 'json'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

const SUBTITLE = 'R and D tasks by kernel stack (width: task observations in captures)';

function sendStacks(reply: FastifyReply, format: Exclude<ExportFormat, 'json'>, stacks: FoldedStack[], title: string, base: string): FastifyReply {
  switch (format) {
    case 'folded':
      return attach(reply, `${base}.folded`, 'text/plain; charset=utf-8', formatFolded(stacks));
    case 'speedscope':
      return attach(reply, `${base}.speedscope.json`, 'application/json; charset=utf-8', `${JSON.stringify(toSpeedscope(stacks, title, EXPORTER))}\n`);
    case 'svg':
      return attach(reply, `${base}.svg`, 'image/svg+xml', renderFlameGraph(stacks, { title, subtitle: SUBTITLE }));
  }
}

function attach(reply: FastifyReply, filename: string, type: string, body: string): FastifyReply {
  return reply.type(type).header('content-disposition', `attachment; filename="${filename}"`).header('cache-control', 'no-store').send(body);
}

export async function exportRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/api/captures/:id/export/:format', async (req, reply) => {
    const p = req.params as Record<string, unknown>;
    const id = parseId(p.id);
    const format = parseChoice('format', p.format, EXPORT_FORMATS);
    return ctx.store.use((s) => {
      const row = s.captureRow(id);
      if (!row) throw httpNotFound(`no capture ${id} in the store`);
      const snap = s.snapshot(id);
      const base = `loadmon-capture-${id}`;
      if (format === 'json') return attach(reply, `${base}.json`, 'application/json; charset=utf-8', `${JSON.stringify(snap, null, 2)}\n`);
      const title = `loadmon capture #${id}, ${snap.time}, load1 ${snap.loadavg.load1.toFixed(2)}`;
      return sendStacks(reply, format, foldSnapshots([snap]), title, base);
    });
  });

  app.get('/api/export/:format', async (req, reply) => {
    const format = parseChoice('format', (req.params as Record<string, unknown>).format, EXPORT_FORMATS);
    const q = req.query as Record<string, unknown>;
    const limit = parseInt('limit', q.limit, 1, 100_000, 10_000);
    const rq = parseRangeQuery(q);
    return ctx.store.use((s) => {
      const range = resolveRange(rq, s.span());
      const base = `loadmon-${stamp(range.from)}-${stamp(range.to)}`;
      if (format === 'json') {
        const report = buildReport(s, { since: range.from, until: range.to, top: 50 });
        return attach(reply, `${base}.report.json`, 'application/json; charset=utf-8', `${JSON.stringify(report, null, 2)}\n`);
      }
      const { captures, stacks } = foldRange(s, range, limit);
      const title = `loadmon: ${captures} capture(s), ${new Date(range.from).toISOString()} .. ${new Date(range.to).toISOString()}`;
      return sendStacks(reply, format, stacks, title, base);
    });
  });
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
