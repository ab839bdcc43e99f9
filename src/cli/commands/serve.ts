/**
 * `loadmon serve`: the dashboard and /metrics over HTTP, reading a store;
 * with --record it also runs the recorder (the `record` loop) in the same
 * process, so one command gives a live dashboard. Binds loopback by default;
 * any other address needs a token (--token or LOADMON_TOKEN), or serve
 * refuses to start (exit 2). The URL is printed on stderr once listening.
 */

import { loadmonEnv } from '../../env.ts';
import { invalidOption, serveInsecure, serveListen } from '../../errors.ts';
import { DEFAULT_LISTEN, isLoopback, parseListen, urlFor } from '../../web/listen.ts';
import { buildServer } from '../../web/server.ts';
import { StoreAccess } from '../../web/store-access.ts';
import { info } from '../output.ts';
import { stopping } from '../shutdown.ts';
import { DEFAULT_DB, type RawRecord } from '../store-options.ts';
import { runRecordLoop } from './record.ts';

export interface RawServe extends RawRecord {
  listen?: string;
  token?: string;
  record?: boolean;
  /** Attribute names of the options typed on the command line. */
  given?: string[];
}

/** Options that only the recorder reads (attribute name -> flag). */
const RECORD_ONLY: Record<string, string> = {
  sample: '--sample',
  retain: '--retain',
  maxSize: '--max-size',
  cpuBudget: '--cpu-budget',
  threshold: '--threshold',
  interval: '--interval',
  cooldown: '--cooldown',
  count: '--count',
  trigger: '--trigger',
  depth: '--depth',
  source: '--source',
  procRoot: '--proc-root',
  format: '--format',
  json: '--json',
};

export async function serveCommand(raw: RawServe): Promise<void> {
  if (!raw.record) {
    // Silently serving without recording what was asked for would lose it.
    const stray = (raw.given ?? []).find((k) => k in RECORD_ONLY);
    if (stray) throw invalidOption(RECORD_ONLY[stray]!, String((raw as Record<string, unknown>)[stray]), 'only applies with --record');
  }
  const listen = parseListen(raw.listen ?? DEFAULT_LISTEN);
  // LOADMON_TOKEN= (set but empty, e.g. an unset variable expanded in a unit file) means no token
  // (src/env.ts); beyond loopback that still refuses below.
  const token = raw.token ?? loadmonEnv().token;
  if (token !== null && token.trim().length < 8) {
    throw invalidOption(raw.token !== undefined ? '--token' : 'LOADMON_TOKEN', '…', 'a token must be at least 8 characters');
  }
  if (token === null && !isLoopback(listen.host)) throw serveInsecure(listen.text);
  const db = raw.db ?? DEFAULT_DB;
  if (db.trim() === '') throw invalidOption('--db', db, 'must be a file path');

  const store = new StoreAccess(db);
  const inner = new AbortController();
  const stop = (): void => inner.abort();
  stopping.addEventListener('abort', stop);
  let recorder: Promise<number> | null = null;
  let recorderError: unknown = null;
  try {
    if (raw.record) {
      // Listen only once the recorder holds the store (or has failed: another
      // recorder holds it, bad options, the eBPF helper refused to start).
      let started!: () => void;
      const begun = new Promise<void>((r) => (started = r));
      recorder = runRecordLoop(raw, inner.signal, started);
      recorder.catch((err: unknown) => {
        recorderError = err;
        inner.abort();
      });
      await Promise.race([
        begun,
        recorder.then(
          () => undefined,
          () => undefined,
        ),
      ]);
      if (recorderError !== null) throw recorderError;
    } else {
      store.openNow();
    }

    const { app } = await buildServer(
      { db, token: token?.trim() ?? null, listenHost: listen.host, recording: recorder !== null, log: info },
      store,
    );
    try {
      await app.listen({ host: listen.host, port: listen.port });
    } catch (err) {
      await app.close();
      throw serveListen(listen.text, err);
    }
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : listen.port;
    const url = urlFor(listen.host, port);
    info(`serving ${url} (store ${db}${recorder ? ', recording' : ''}; /metrics for Prometheus)`);
    if (token !== null)
      info(`a token is required: browsers open ${url}login?token=<token> once; Prometheus sends Authorization: Bearer <token>`);
    if (!inner.signal.aborted) await new Promise((r) => inner.signal.addEventListener('abort', r, { once: true }));
    await app.close();
    if (recorder) await recorder.catch(() => 0);
    if (recorderError !== null) throw recorderError;
  } finally {
    stopping.removeEventListener('abort', stop);
    inner.abort();
    store.close();
  }
}
