/**
 * GET /api/meta: what the store holds and how it was recorded; cheap enough
 * to poll (the page polls it to notice new samples and captures).
 */

import type { FastifyInstance } from 'fastify';

import { VERSION } from '../../version.ts';
import type { ApiContext } from '../context.ts';

export async function metaRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/api/meta', async () =>
    ctx.store.use((s) => {
      const span = s.span();
      const session = s.sessionAt(span?.last ?? null);
      const latest = s.latestSample();
      return {
        version: VERSION,
        now: Date.now(),
        recording: ctx.recording,
        host: session?.host ?? null,
        cpus: session?.cpus ?? null,
        threshold: session?.threshold ?? null,
        threshold_spec: session?.thresholdSpec ?? null,
        sample_ms: session?.sampleMs ?? null,
        span: span ? { from: span.first, to: span.last } : null,
        latest_sample: latest ? latest.t : null,
        captures_stored: s.capturesEverStored(),
      };
    }),
  );
}
