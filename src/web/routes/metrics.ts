/** GET /metrics: Prometheus text format (see metrics/registry.ts for the series). */

import type { FastifyInstance } from 'fastify';

import type { ApiContext } from '../context.ts';
import { LoadmonMetrics } from '../metrics/registry.ts';

export async function metricsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const metrics = new LoadmonMetrics({ recording: ctx.recording });
  // The histogram counts captures from now on: note where the store is at start.
  try {
    ctx.store.use((s) => metrics.refresh(s));
  } catch {
    /* no store yet (serve --record before the first write): the first scrape starts it */
  }
  app.get('/metrics', async (_req, reply) => {
    ctx.store.use((s) => metrics.refresh(s));
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
}
