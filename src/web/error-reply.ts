/**
 * Every error is answered as JSON, `{"error":{"code","message"}}`, with the
 * status its code has in src/errors.ts ERROR_TABLE: 400 bad input, 401 no
 * token, 403 foreign Host, 404 nothing there, 503 store unreadable. Never a
 * stack trace; unexpected errors are a 500 whose details go to stderr only.
 *
 * Three layers can refuse a request, and all three answer the same way,
 * with the security headers:
 * - routes and hooks: setErrorHandler / setNotFoundHandler;
 * - fastify's router before any hook runs (a malformed URL, a path
 *   parameter over the limit): the frameworkErrors option;
 * - Node's HTTP parser before fastify sees a request (a head over 16 KiB,
 *   an unknown method, a malformed header): the clientErrorHandler option,
 *   which writes the reply on the socket itself.
 */

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { httpNotFound, LoadmonError } from '../errors.ts';
import { SECURITY_HEADERS } from './security.ts';

export interface ErrorBody {
  error: { code: string; message: string };
}

interface ErrorAnswer {
  status: number;
  body: ErrorBody;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Messages that echo a request (fastify quotes the whole URL) are cut short. */
const MAX_MESSAGE = 300;

/** The status and body for an error raised anywhere in the server. */
export function errorAnswer(err: FastifyError | LoadmonError | Error, log: (line: string) => void): ErrorAnswer {
  if (err instanceof LoadmonError) {
    if (err.httpStatus === 500) log(`error answering a request: ${err.message}`);
    return { status: err.httpStatus, body: { error: { code: err.code, message: err.message } } };
  }
  const statusCode = (err as FastifyError).statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    // Fastify's own refusals (malformed URL, unsupported media type, body too large).
    return { status: statusCode, body: { error: { code: 'E_HTTP_BAD_REQUEST', message: clip(err.message) } } };
  }
  log(`internal error answering a request: ${err.stack ?? err.message}`);
  return { status: 500, body: { error: { code: 'E_INTERNAL', message: 'internal error (details on the server’s stderr)' } } };
}

function send(reply: FastifyReply, answer: ErrorAnswer): FastifyReply {
  return reply.code(answer.status).headers(SECURITY_HEADERS).header('cache-control', 'no-store').type(JSON_TYPE).send(answer.body);
}

export function installErrorReplies(app: FastifyInstance, log: (line: string) => void): void {
  app.setNotFoundHandler(async (req) => {
    throw httpNotFound(`no such page or endpoint: ${req.method} ${clip(req.url.split('?')[0]!)}`);
  });
  app.setErrorHandler(async (err: FastifyError | LoadmonError, _req, reply) => send(reply, errorAnswer(err, log)));
}

/** fastify's frameworkErrors option: errors of the router, raised before any hook (so no headers yet). */
export function frameworkErrorReply(log: (line: string) => void) {
  return (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
    void send(reply, errorAnswer(err, log));
  };
}

/**
 * fastify's clientErrorHandler option: Node's HTTP parser refused the
 * request, there is no request or reply object, only the socket. The answer
 * is written on it whole and the connection closed (the parser cannot go on).
 */
export function clientErrorReply(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] = clientErrorStatus(err.code);
  const body = JSON.stringify({ error: { code: 'E_HTTP_BAD_REQUEST', message } } satisfies ErrorBody);
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'cache-control': 'no-store',
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  if (!socket.writable) return void socket.destroy();
  // end() flushes the answer before closing; the reply is far smaller than a socket buffer, so this does not wait on the peer.
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`, () => socket.destroy());
}

function clientErrorStatus(code: string | undefined): [number, string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'request line and headers exceed 16 KiB (a query string that long is not something this API takes)'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'the request did not arrive in time'];
    default:
      return [400, `malformed HTTP request (${code ?? 'unknown parser error'})`];
  }
}

function clip(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s;
}
