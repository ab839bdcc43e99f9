/**
 * /proc/load_monitor (or a copy of it under --proc-root) is text loadmon did
 * not write: when it is malformed, the error quotes it, and that quote goes
 * to root's terminal. It must carry no control or bidi character (issue 11,
 * item 1); the comms and frames it holds are escaped by the text formats.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LoadmonError } from '../../src/errors.ts';
import { parseLoadMonitor, unescapeComm } from '../../src/kmod/format.ts';
import { UNSAFE } from '../helpers/unsafe-chars.ts';

const P = '\x1b[2J\r\u009b31m\u202e\u2028';
const SNAP =
  'snapshot seq=1 time_ns=1 load1=1.00 load5=1.00 load15=1.00 cpus=1 threads=1 running=0 uninterruptible=0 dropped=0 walk_ns=1 depth=1';

function messageOf(text: string): string {
  try {
    parseLoadMonitor(text);
  } catch (e) {
    assert.ok(e instanceof LoadmonError, String(e));
    return e.message;
  }
  assert.fail(`accepted ${JSON.stringify(text)}`);
}

test("kmod format errors quote the module's text escaped", () => {
  const cases: Array<[string, RegExp]> = [
    [`load_monitor ${P}\n`, /expected the header line/],
    [`load_monitor 1\n${P}x y\n`, /unknown line kind/],
    [`load_monitor 1\nsnapshot time_ns=1 seq=${P}\n`, /seq=.* is not a whole number/],
    [`load_monitor 1\nsnapshot seq=1 time_ns=${P}\n`, /time_ns=.* is not a whole number/],
    [`load_monitor 1\nsnapshot seq=1 time_ns=1 load1=${P}\n`, /load1=.* is not a load/],
    [`load_monitor 1\nsnapshot seq=1 ${P}\n`, /expected key=value/],
    [`load_monitor 1\n${SNAP}\ntask tid=1 pid=1 state=${P} comm=x\n`, /is neither R nor D/],
    [`load_monitor 1\n${SNAP}\ntask tid=1 pid=1 state=D comm=\\q${P}\n`, /bad escape in comm/],
    [`load_monitor 1\n${SNAP}\ntask tid=1 pid=1 state=D comm=a${P}\n`, /unescaped byte 0x1b in comm/],
  ];
  for (const [text, re] of cases) {
    const m = messageOf(text);
    assert.match(m, re);
    assert.doesNotMatch(m, UNSAFE, JSON.stringify(m));
  }
});

test("kmod format errors quote in the module's own notation, so the quote reads back", () => {
  const m = messageOf(`load_monitor 1\n${SNAP}\ntask tid=1 pid=1 state=D comm=\\q\u202e\n`);
  const quoted = /bad escape in comm "([^"]*)"/.exec(m)?.[1];
  assert.equal(quoted, '\\x5cq\\xe2\\x80\\xae');
  assert.equal(unescapeComm(quoted!), '\\q\u202e');
});
