/**
 * Parser for /proc/load_monitor, the text the load_monitor kernel module
 * writes (format version 1, documented in docs/kmod.md):
 *
 *   load_monitor 1
 *   snapshot seq=3 time_ns=... load1=3.12 load5=1.20 load15=0.40 cpus=2 threads=2143 running=5 …
 *            … uninterruptible=41 dropped=0 walk_ns=812345 depth=20   (one line)
 *   task tid=415 pid=412 state=D comm=vfork\x20parent
 *   frame kernel_clone+0x1af/0x3e0
 *   end seq=3
 *
 * Comms are escaped by the module: every byte outside 0x21..0x7e, and the
 * backslash, is written as \xHH. Unknown keys are ignored so the module can
 * add fields without breaking older readers.
 *
 * Errors quote the offending text in that same notation (shown()), so a
 * malformed or crafted file cannot put control or bidi characters on the
 * terminal the error is printed to, and the quote reads back exactly.
 */

import { kmodFormat } from '../errors.ts';

export interface KmodTask {
  tid: number;
  pid: number;
  state: 'R' | 'D';
  comm: string;
  stack: string[];
}

export interface KmodSnapshot {
  seq: number;
  timeNs: bigint;
  load1: number;
  load5: number;
  load15: number;
  cpus: number;
  threads: number;
  running: number;
  uninterruptible: number;
  dropped: number;
  walkNs: number;
  depth: number;
  tasks: KmodTask[];
}

export const KMOD_FORMAT_VERSION = 1;

export function parseLoadMonitor(text: string): KmodSnapshot[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = lines[0];
  if (header === undefined) throw kmodFormat(1, 'empty: expected the header line "load_monitor 1"');
  const hm = /^load_monitor (\d+)$/.exec(header);
  if (!hm) throw kmodFormat(1, `expected the header line "load_monitor 1", got ${quote(header, 60)}`);
  if (Number(hm[1]) !== KMOD_FORMAT_VERSION) {
    throw kmodFormat(1, `format version ${hm[1]} is not supported (this loadmon reads version ${KMOD_FORMAT_VERSION})`);
  }
  const out: KmodSnapshot[] = [];
  let cur: KmodSnapshot | null = null;
  let task: KmodTask | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    const sp = line.indexOf(' ');
    const kind = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    switch (kind) {
      case 'snapshot':
        if (cur) throw kmodFormat(lineNo, `snapshot ${cur.seq} has no end line`);
        cur = parseSnapshotLine(rest, lineNo);
        task = null;
        break;
      case 'task':
        if (!cur) throw kmodFormat(lineNo, 'task line outside a snapshot');
        task = parseTaskLine(rest, lineNo);
        cur.tasks.push(task);
        break;
      case 'frame':
        if (!task) throw kmodFormat(lineNo, 'frame line before any task line');
        if (rest === '') throw kmodFormat(lineNo, 'empty frame');
        task.stack.push(rest);
        break;
      case 'end': {
        if (!cur) throw kmodFormat(lineNo, 'end line outside a snapshot');
        const seq = intField(fields(rest, lineNo), 'seq', lineNo);
        if (seq !== cur.seq) throw kmodFormat(lineNo, `end seq=${seq} closes snapshot seq=${cur.seq}`);
        out.push(cur);
        cur = null;
        task = null;
        break;
      }
      case '':
        break;
      default:
        throw kmodFormat(lineNo, `unknown line kind ${quote(kind, 20)}`);
    }
  }
  if (cur) throw kmodFormat(lines.length, `snapshot ${cur.seq} has no end line (truncated copy?)`);
  return out;
}

function fields(rest: string, lineNo: number): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of rest.split(' ')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw kmodFormat(lineNo, `expected key=value, got ${quote(part, 40)}`);
    m.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return m;
}

function raw(f: Map<string, string>, key: string, lineNo: number): string {
  const v = f.get(key);
  if (v === undefined) throw kmodFormat(lineNo, `missing ${key}=`);
  return v;
}

function intField(f: Map<string, string>, key: string, lineNo: number): number {
  const v = raw(f, key, lineNo);
  if (!/^\d+$/.test(v)) throw kmodFormat(lineNo, `${key}=${shown(v, 40)} is not a whole number`);
  return Number(v);
}

function loadField(f: Map<string, string>, key: string, lineNo: number): number {
  const v = raw(f, key, lineNo);
  if (!/^\d+\.\d\d$/.test(v)) throw kmodFormat(lineNo, `${key}=${shown(v, 40)} is not a load such as 3.12`);
  return Number(v);
}

function parseSnapshotLine(rest: string, lineNo: number): KmodSnapshot {
  const f = fields(rest, lineNo);
  const time = raw(f, 'time_ns', lineNo);
  if (!/^\d+$/.test(time)) throw kmodFormat(lineNo, `time_ns=${shown(time, 40)} is not a whole number`);
  return {
    seq: intField(f, 'seq', lineNo),
    timeNs: BigInt(time),
    load1: loadField(f, 'load1', lineNo),
    load5: loadField(f, 'load5', lineNo),
    load15: loadField(f, 'load15', lineNo),
    cpus: intField(f, 'cpus', lineNo),
    threads: intField(f, 'threads', lineNo),
    running: intField(f, 'running', lineNo),
    uninterruptible: intField(f, 'uninterruptible', lineNo),
    dropped: intField(f, 'dropped', lineNo),
    walkNs: intField(f, 'walk_ns', lineNo),
    depth: intField(f, 'depth', lineNo),
    tasks: [],
  };
}

function parseTaskLine(rest: string, lineNo: number): KmodTask {
  const f = fields(rest, lineNo);
  const state = raw(f, 'state', lineNo);
  if (state !== 'R' && state !== 'D') throw kmodFormat(lineNo, `state=${shown(state, 20)} is neither R nor D`);
  return {
    tid: intField(f, 'tid', lineNo),
    pid: intField(f, 'pid', lineNo),
    state,
    comm: unescapeComm(raw(f, 'comm', lineNo), lineNo),
    stack: [],
  };
}

/** Reverses the module's \xHH escaping; the bytes are decoded as UTF-8, like /proc/PID/stat. */
export function unescapeComm(s: string, lineNo = 0): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) {
      const hex = s.slice(i + 1, i + 4);
      if (!/^x[0-9a-fA-F]{2}$/.test(hex)) throw kmodFormat(lineNo, `bad escape in comm ${quote(s, 80)}`);
      bytes.push(parseInt(hex.slice(1), 16));
      i += 3;
    } else if (c < 0x21 || c > 0x7e) {
      throw kmodFormat(lineNo, `unescaped byte 0x${c.toString(16)} in comm`);
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The module's own notation (bytes outside 0x21..0x7e and the backslash as \xHH), of at most `max` characters. */
function shown(s: string, max: number): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  let out = '';
  for (const b of Buffer.from(cut, 'utf8')) {
    out += b < 0x21 || b > 0x7e || b === 0x5c ? `\\x${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b);
  }
  return s.length > max ? `${out}...` : out;
}

function quote(s: string, max: number): string {
  return `"${shown(s, max)}"`;
}
