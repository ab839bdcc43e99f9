/**
 * Helpers of the serve/web tests: a store filled with the verdict fixture
 * captures and an hour of timeline, and a strict checker of the Prometheus
 * text format.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

import type { Snapshot } from '../../src/model/snapshot.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { buildServer, type ServerOptions } from '../../src/web/server.ts';
import { FIXTURES } from './fixtures.ts';
import { SESSION, sample } from './store.ts';

/** The fixture store's last sample: 2026-11-27T14:00:00Z. */
export const T_END = Date.parse('2026-11-27T14:00:00Z');
export const HOUR = 3_600_000;
/** Cgroups in the high-load samples: more than the 20 /metrics keeps apart. */
export const CGROUPS = 30;

export interface FixtureStore {
  captureIds: number[];
  /** Capture id -> fixture name (vfork, block-io, ...). */
  kinds: Map<number, string>;
  samples: number;
}

/** The verdict fixtures, in name order, without their test annotations. */
export function verdictFixtures(): Array<{ name: string; snapshot: Snapshot }> {
  const dir = join(FIXTURES, 'verdict');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const { _expect: _e, ...snap } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Snapshot & { _expect?: unknown };
      return { name: f.replace(/\.json$/, ''), snapshot: snap };
    });
}

/**
 * One hour of 1 s samples ending at T_END: low load for the first half,
 * high (with per-process counts spread over CGROUPS cgroups) for the second,
 * and one capture per verdict fixture every 2 minutes in the high half.
 */
export function writeFixtureStore(path: string): FixtureStore {
  const w = StoreWriter.open(path, T_END - HOUR);
  w.beginSession({ ...SESSION, startedMs: T_END - HOUR });
  const start = T_END - HOUR + 1000;
  let samples = 0;
  for (let t = start; t <= T_END; t += 1000) {
    const high = t > T_END - HOUR / 2;
    const load1 = high ? 4 + ((t / 1000) % 20) / 10 : 0.5;
    const procs = high
      ? Array.from({ length: CGROUPS }, (_, k) => ({
          pid: 2000 + k,
          comm: `worker-${k}`,
          r: k % 3 === 0 ? 1 : 0,
          d: k < 25 ? 1 + (k % 2) : 0,
          cgroup: `/system.slice/app${k}.service`,
        }))
      : null;
    w.insertSample(sample(t, load1, procs));
    samples++;
  }
  const captureIds: number[] = [];
  const kinds = new Map<number, string>();
  verdictFixtures().forEach(({ name, snapshot }, i) => {
    const t = T_END - HOUR / 2 + 60_000 + i * 120_000;
    const id = w.insertCapture({ ...snapshot, time: new Date(t).toISOString() });
    captureIds.push(id);
    kinds.set(id, name);
  });
  w.close();
  return { captureIds, kinds, samples };
}

/** The server `loadmon serve --db db` builds on loopback without a token, logging nowhere; `opts` overrides any of it. */
export async function loopbackServer(db: string, opts: Partial<ServerOptions> = {}): Promise<FastifyInstance> {
  return (await buildServer({ db, token: null, listenHost: '127.0.0.1', recording: false, log: () => {}, ...opts })).app;
}

/** A GET through inject() with the Host header a browser sends to a loopback serve. */
export function injectGet(app: FastifyInstance, url: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: { host: '127.0.0.1:9640' } });
}

export interface FixtureServer {
  dir: string;
  /** The fixture store (writeFixtureStore), written in before(). */
  db: string;
  /** Set in before(). */
  fx: FixtureStore;
  app: FastifyInstance;
  get: (url: string) => Promise<LightMyRequestResponse>;
}

/** A test file's fixture store and loopbackServer over it: built in before(), closed and removed in after(). */
export function fixtureServer(prefix: string, name: string): FixtureServer {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const s = { dir, db: join(dir, name), get: (url: string) => injectGet(s.app, url) } as FixtureServer;
  before(async () => {
    s.fx = writeFixtureStore(s.db);
    s.app = await loopbackServer(s.db);
  });
  after(async () => {
    await s.app?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

export interface PromFamily {
  name: string;
  type: string;
  help: string;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
// Values as Prometheus reads them (Go's strconv.ParseFloat: NaN and Inf in any case; prom-client prints "Nan").
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?[iI][nN][fF]|[nN][aA][nN])';
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL}="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"(?:,(?!\\}))?)*)\\})? (${VALUE})(?: -?\\d+)?$`);
const LABEL_RE = new RegExp(`(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`, 'g');

/**
 * A strict reading of the Prometheus text format 0.0.4: every line is a
 * HELP, a TYPE or a sample; every family has exactly one HELP and one TYPE,
 * before its samples; sample names belong to their family (with the
 * histogram/summary suffixes); no family appears twice. Throws on the first
 * violation, naming the line.
 */
export function parsePrometheus(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  let current: PromFamily | null = null;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === '') return;
    let m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (m) {
      if (families.has(m[1]!) && families.get(m[1]!) !== current) throw new Error(`family repeated: ${where}`);
      current = { name: m[1]!, type: '', help: m[2]!, samples: [] };
      families.set(m[1]!, current);
      return;
    }
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m) {
      if (!current || current.name !== m[1] || current.type !== '' || current.samples.length > 0)
        throw new Error(`TYPE without its HELP first: ${where}`);
      current.type = m[2]!;
      return;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment: ${where}`);
    const s = SAMPLE_RE.exec(line);
    if (!s) throw new Error(`not a valid sample: ${where}`);
    if (!current || current.type === '') throw new Error(`sample outside a HELP/TYPE family: ${where}`);
    const suffixes =
      current.type === 'histogram' ? ['_bucket', '_sum', '_count'] : current.type === 'summary' ? ['', '_sum', '_count'] : [''];
    if (!suffixes.some((x) => s[1] === current!.name + x))
      throw new Error(`sample ${s[1]} does not belong to family ${current.name}: ${where}`);
    const labels: Record<string, string> = {};
    for (const lm of (s[2] ?? '').matchAll(LABEL_RE)) {
      if (lm[1]! in labels) throw new Error(`duplicate label ${lm[1]}: ${where}`);
      labels[lm[1]!] = lm[2]!;
    }
    current.samples.push({ name: s[1]!, labels, value: Number(s[3]) });
  });
  for (const f of families.values()) if (f.type === '') throw new Error(`family ${f.name} has no TYPE`);
  return families;
}
