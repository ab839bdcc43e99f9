/**
 * `--listen HOST:PORT`: parsing, and whether the address is loopback (the
 * only kind served without a token).
 */

import { isIP } from 'node:net';

import { invalidOption } from '../errors.ts';

export const DEFAULT_LISTEN = '127.0.0.1:9640';

export interface ListenAddress {
  host: string;
  port: number;
  /** As given, for messages. */
  text: string;
}

/** "127.0.0.1:9640", "[::1]:0", "localhost:8080", "0.0.0.0:9640". */
export function parseListen(raw: string): ListenAddress {
  const m = /^\s*(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})\s*$/.exec(raw);
  if (!m) throw invalidOption('--listen', raw, 'expected HOST:PORT, e.g. 127.0.0.1:9640 or [::1]:9640');
  const host = (m[1] ?? m[2])!;
  if (m[1] !== undefined && isIP(host) !== 6) throw invalidOption('--listen', raw, 'not an IPv6 address in brackets');
  if (m[2] !== undefined && isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host))
    throw invalidOption('--listen', raw, 'not a host name or address');
  const port = Number(m[3]);
  if (port > 65535) throw invalidOption('--listen', raw, 'port must be between 0 and 65535');
  return { host, port, text: raw.trim() };
}

/** 127.0.0.0/8, ::1, ::ffff:127.x, and the name localhost. Anything else (0.0.0.0, ::, a LAN address) is not. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The URL people open, for a bound address. */
export function urlFor(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}/`;
}
