/**
 * Every error is answered as JSON, `{"error":{"code","message"}}`, with the
 * status its code maps to (src/errors.ts httpStatus): 400 bad input, 401 no
 * token, 403 foreign Host, 404 nothing there, 503 store unreadable. Never a
 * stack trace; unexpected errors are a 500 whose details go to stderr only.
 */

import type { FastifyError, FastifyInstance } from 'fastify';

import { httpNotFound, httpStatus, LoadmonError } from '../errors.ts';

export interface ErrorBody {
  error: { code: string; message: string };
}

export function installErrorReplies(app: FastifyInstance, log: (line: string) => void): void {
  app.setNotFoundHandler(async (req) => {
    throw httpNotFound(`no such page or endpoint: ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`);
  });

  app.setErrorHandler(async (err: FastifyError | LoadmonError, _req, reply) => {
    let status: number;
    let body: ErrorBody;
    if (err instanceof LoadmonError) {
      status = httpStatus(err);
      body = { error: { code: err.code, message: err.message } };
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own refusals (malformed URL, unsupported media type, body too large).
      status = err.statusCode;
      body = { error: { code: 'E_HTTP_BAD_REQUEST', message: err.message } };
    } else {
      status = 500;
      body = { error: { code: 'E_INTERNAL', message: 'internal error (details on the server’s stderr)' } };
      log(`internal error answering a request: ${err.stack ?? err.message}`);
    }
    if (status === 500 && err instanceof LoadmonError) log(`error answering a request: ${err.message}`);
    return reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
  });
}
