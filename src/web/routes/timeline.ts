/** GET /api/timeline?from&to&points: the load curve of a range, downsampled server-side. */

import type { FastifyInstance } from 'fastify';

import type { ApiContext } from '../context.ts';
import { parseInteger, parseRangeQuery, resolveRange } from '../params.ts';
import { buildTimeline } from '../views.ts';

export const MAX_POINTS = 5000;
export const DEFAULT_POINTS = 1000;

export async function timelineRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/api/timeline', async (req) => {
    const q = req.query as Record<string, unknown>;
    const points = parseInteger('points', q.points, 2, MAX_POINTS, DEFAULT_POINTS);
    const rq = parseRangeQuery(q);
    return ctx.store.use((s) => buildTimeline(s, resolveRange(rq, s.span()), points));
  });
}
