/**
 * The child side of ChildDetailReader: reads task details on request and
 * reports each task as soon as it is read, so that if one read hangs the
 * parent still has every task before it and knows which one hung.
 */

import { ProcReader } from '../procfs/reader.ts';
import { readTaskDetails } from './details.ts';

export interface DetailRequest {
  id: number;
  dirs: string[];
  depth: number;
  /** The tree is not a procfs mount: type-check every file (reader.ts). */
  untrusted: boolean;
}

export type DetailMessage =
  | { id: number; kind: 'task'; dir: string; details: ReturnType<typeof readTaskDetails> }
  | { id: number; kind: 'done' }
  | { id: number; kind: 'error'; message: string };

const readers = { trusted: new ProcReader(), untrusted: new ProcReader(4096, { untrusted: true }) };
const send = (m: DetailMessage): void => {
  process.send!(m);
};

process.on('message', (req: DetailRequest) => {
  const reader = req.untrusted ? readers.untrusted : readers.trusted;
  try {
    for (const dir of req.dirs) {
      const details = readTaskDetails(reader, dir, req.depth);
      send({ id: req.id, kind: 'task', dir, details });
    }
    send({ id: req.id, kind: 'done' });
  } catch (err) {
    send({ id: req.id, kind: 'error', message: (err as Error).message });
  }
});
process.on('disconnect', () => process.exit(0));
