/**
 * GET /api/captures?from&to&limit: the captures of a range with their verdicts.
 * GET /api/captures/:id: one capture: snapshot, verdict, tasks grouped by stack.
 * GET /api/captures/:id/flame: its folded stacks, for the page's flame graph.
 */

import type { FastifyInstance } from 'fastify';

import { httpNotFound } from '../../errors.ts';
import { foldSnapshots } from '../../format/folded.ts';
import type { ApiContext } from '../context.ts';
import { parseId, parseInteger, parseRangeQuery, resolveRange } from '../params.ts';
import { buildCaptureView } from '../views.ts';

export async function captureRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/api/captures', async (req) => {
    const q = req.query as Record<string, unknown>;
    const limit = parseInteger('limit', q.limit, 1, 5000, 500);
    const rq = parseRangeQuery(q);
    return ctx.store.use((s) => {
      const range = resolveRange(rq, s.span());
      const { total, rows } = s.capturesInRange(range.from, range.to, limit);
      return { from: range.from, to: range.to, total, captures: ctx.summaries.summarise(s, rows) };
    });
  });

  app.get('/api/captures/:id', async (req) => {
    const id = parseId((req.params as Record<string, unknown>).id);
    return ctx.store.use((s) => {
      const row = s.captureRow(id);
      if (!row) throw httpNotFound(`no capture ${id} in the store`);
      return buildCaptureView(s, row);
    });
  });

  app.get('/api/captures/:id/flame', async (req) => {
    const id = parseId((req.params as Record<string, unknown>).id);
    return ctx.store.use((s) => {
      if (!s.captureRow(id)) throw httpNotFound(`no capture ${id} in the store`);
      const stacks = foldSnapshots([s.snapshot(id)]);
      return { captures: 1, total: stacks.reduce((a, x) => a + x.count, 0), stacks };
    });
  });
}
