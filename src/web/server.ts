/**
 * The `loadmon serve` HTTP server: one fastify instance, one plugin per
 * concern. Read-only: no route writes the store, runs a command or changes
 * the system. buildServer() does not listen (tests use inject()); start()
 * in cli/commands/serve.ts does.
 */

import Fastify, { type FastifyInstance } from 'fastify';

import type { ApiContext } from './context.ts';
import { clientErrorReply, frameworkErrorReply, installErrorReplies } from './error-reply.ts';
import { captureRoutes } from './routes/captures.ts';
import { exportRoutes } from './routes/exports.ts';
import { metaRoutes } from './routes/meta.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { reportRoutes } from './routes/report.ts';
import { timelineRoutes } from './routes/timeline.ts';
import { installSecurity } from './security.ts';
import { staticRoutes } from './static.ts';
import { StoreAccess } from './store-access.ts';
import { CaptureSummaries } from './views.ts';

/**
 * Bound on receiving a whole request (request line, headers, any body):
 * fastify's default, 0, lets a client that sends a byte now and then hold a
 * connection for ever. GET requests arrive in one packet; 30 s is generous.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface ServerOptions {
  /** The store to read. */
  db: string;
  /** Required on every request when set. */
  token: string | null;
  /** The listen host (allowed in Host headers when there is no token). */
  listenHost: string;
  /** This process also runs the recorder. */
  recording: boolean;
  /** Where server-side problems are reported (stderr in the CLI). */
  log: (line: string) => void;
  /** The page's directory (default: web/ of the package). */
  webRoot?: string;
  /** Default REQUEST_TIMEOUT_MS; tests shorten it. */
  requestTimeoutMs?: number;
}

export interface LoadmonServer {
  app: FastifyInstance;
  store: StoreAccess;
}

export async function buildServer(opts: ServerOptions, store = new StoreAccess(opts.db)): Promise<LoadmonServer> {
  const requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: false,
    // Answered 408 (clientErrorReply). Given to Node too, so that its headersTimeout (min(60 s, this)) is not
    // longer; Node looks for expired requests every connectionsCheckingInterval (30 s by default): a tenth of
    // the bound keeps the cut near it.
    requestTimeout,
    http: { requestTimeout, connectionsCheckingInterval: Math.max(50, Math.floor(requestTimeout / 10)) },
    // Only GET routes: no body is ever read.
    bodyLimit: 1024,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    // Refusals by the router and by Node's HTTP parser: the same JSON errors and headers as the routes'.
    frameworkErrors: frameworkErrorReply(opts.log),
    clientErrorHandler: clientErrorReply,
  });
  installSecurity(app, { token: opts.token, listenHost: opts.listenHost });
  installErrorReplies(app, opts.log);
  const ctx: ApiContext = { store, summaries: new CaptureSummaries(), recording: opts.recording };
  await app.register(staticRoutes, opts.webRoot === undefined ? {} : { root: opts.webRoot });
  await app.register(metaRoutes, ctx);
  await app.register(timelineRoutes, ctx);
  await app.register(captureRoutes, ctx);
  await app.register(reportRoutes, ctx);
  await app.register(exportRoutes, ctx);
  await app.register(metricsRoutes, ctx);
  app.addHook('onClose', async () => store.close());
  return { app, store };
}
