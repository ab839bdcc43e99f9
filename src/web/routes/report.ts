/**
 * GET /api/report?from&to&top: the loadmon.report/v1 object of a range
 * (verdict, attribution by process, cgroup, state and stack), as
 * `loadmon report --format json` prints it.
 * GET /api/flame?from&to&limit: the folded stacks of the range's captures.
 */

import type { FastifyInstance } from 'fastify';

import { buildReport } from '../../analyze/report.ts';
import type { ApiContext } from '../context.ts';
import { parseInteger, parseRangeQuery, resolveRange } from '../params.ts';
import { foldRange } from '../views.ts';

export async function reportRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/api/report', async (req) => {
    const q = req.query as Record<string, unknown>;
    const top = parseInteger('top', q.top, 1, 1000, 20);
    const rq = parseRangeQuery(q);
    return ctx.store.use((s) => {
      const range = resolveRange(rq, s.span());
      return buildReport(s, { since: range.from, until: range.to, top });
    });
  });

  app.get('/api/flame', async (req) => {
    const q = req.query as Record<string, unknown>;
    const limit = parseInteger('limit', q.limit, 1, 5000, 1000);
    const rq = parseRangeQuery(q);
    return ctx.store.use((s) => {
      const { captures, stacks } = foldRange(s, resolveRange(rq, s.span()), limit);
      return { captures, total: stacks.reduce((a, x) => a + x.count, 0), stacks };
    });
  });
}
