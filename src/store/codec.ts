/**
 * Captures are stored as deflated JSON of the loadmon.snapshot/v1 object:
 * the JSON is the documented interchange form (report --capture ID --format
 * json prints it back unchanged), and stacks repeat so much within a capture
 * that deflate shrinks them about tenfold.
 */

import { deflateRawSync, inflateRawSync } from 'node:zlib';

import type { Snapshot } from '../model/snapshot.ts';

export function encodeSnapshot(s: Snapshot): Buffer {
  return deflateRawSync(Buffer.from(JSON.stringify(s), 'utf8'), { level: 6 });
}

export function decodeSnapshot(blob: Buffer): Snapshot {
  return JSON.parse(inflateRawSync(blob).toString('utf8')) as Snapshot;
}
