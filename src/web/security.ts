/**
 * Who may talk to the server, and what the browser may do with its answers.
 *
 * - Every response carries a restrictive Content-Security-Policy (only this
 *   origin's scripts, styles, images and fetches; no inline script, no
 *   framing), nosniff, no referrer, same-origin isolation.
 * - With a token (--token / LOADMON_TOKEN) every request must carry it, as
 *   `Authorization: Bearer <token>` (Prometheus, curl) or as the cookie
 *   that `GET /login?token=<token>` sets for a browser (HttpOnly,
 *   SameSite=Strict, holding a hash of the token, not the token). Nothing
 *   is exempt but /login itself: the page, its scripts, the API, /metrics.
 * - Without a token (loopback only: serve refuses to start otherwise) the
 *   Host header must name a loopback address or the listen host, so a web
 *   page elsewhere cannot read the API through DNS rebinding.
 */

import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { httpBadRequest, httpForbiddenHost, httpUnauthorized } from '../errors.ts';
import { isLoopback } from './listen.ts';

export const COOKIE = 'loadmon_token';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
};

export interface SecurityOptions {
  /** The shared secret, or null (loopback only). */
  token: string | null;
  /** The host the server listens on (allowed in Host headers besides loopback names). */
  listenHost: string;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export function installSecurity(app: FastifyInstance, opts: SecurityOptions): void {
  const want = opts.token === null ? null : digest(opts.token);
  const cookieValue = want?.toString('hex') ?? '';

  const bearerOk = (req: FastifyRequest): boolean => {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m !== null && timingSafeEqual(digest(m[1]!), want!);
  };
  const cookieOk = (req: FastifyRequest): boolean => {
    const v = readCookie(req.headers.cookie, COOKIE);
    return v !== null && v.length === cookieValue.length && timingSafeEqual(Buffer.from(v), Buffer.from(cookieValue));
  };

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    reply.headers(SECURITY_HEADERS);
    // Answers reflect a live store: never cached (static files say no-cache themselves).
    if (req.url.startsWith('/api/') || req.url.startsWith('/metrics')) reply.header('cache-control', 'no-store');
    if (want === null) {
      const host = hostName(req.headers.host);
      if (host === null || !(isLoopback(host) || host === opts.listenHost.toLowerCase()))
        throw httpForbiddenHost(String(req.headers.host ?? ''));
      return;
    }
    if (req.url === '/login' || req.url.startsWith('/login?')) return;
    if (!bearerOk(req) && !cookieOk(req)) {
      reply.header('www-authenticate', 'Bearer realm="loadmon"');
      throw httpUnauthorized();
    }
  });

  // The browser's way in: the token once in a link, then a cookie.
  app.get('/login', async (req, reply) => {
    if (want === null) return reply.redirect('/', 303);
    const q = req.query as Record<string, unknown>;
    if (typeof q.token !== 'string' || q.token === '') throw httpBadRequest('token: missing; open /login?token=<token>');
    if (!timingSafeEqual(digest(q.token), want)) {
      reply.header('www-authenticate', 'Bearer realm="loadmon"');
      throw httpUnauthorized();
    }
    reply.header('set-cookie', `${COOKIE}=${cookieValue}; Path=/; HttpOnly; SameSite=Strict`);
    return reply.redirect('/', 303);
  });
}

/** The host name of a Host header ("[::1]:9640" -> "::1"), lower-case; null when malformed. */
export function hostName(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::\d+)?$/.exec(header.trim());
  return m ? (m[1] ?? m[2])!.toLowerCase() : null;
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
