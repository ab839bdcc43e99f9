/**
 * Reads load1 a hundred times a second at almost no cost: /proc/loadavg is
 * kept open and re-read with pread at offset 0 (the seq_file regenerates it),
 * about 3 µs per read here versus 9 µs for open+read+close.
 */

import { closeSync, openSync, readSync } from 'node:fs';

import { procUnreadable } from '../errors.ts';
import { parseLoad1 } from '../procfs/loadavg.ts';

export class LoadProbe {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(128);

  constructor(private readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      throw procUnreadable(path, err);
    }
  }

  load1(): number {
    return this.read().load1;
  }

  /** load1, and the text of the three averages (to notice when the kernel updated them). */
  read(): { load1: number; loads: string } {
    let n: number;
    try {
      n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    } catch (err) {
      throw procUnreadable(this.path, err);
    }
    const v = parseLoad1(this.buf, n);
    if (Number.isNaN(v)) throw procUnreadable(this.path, new Error('no load average in it'));
    // "0.52 0.58 0.59 2/1234 5678": the averages end at the third space.
    let end = 0;
    for (let spaces = 0; end < n && spaces < 3; end++) if (this.buf[end] === 32) spaces++;
    return { load1: v, loads: this.buf.toString('latin1', 0, end) };
  }

  close(): void {
    closeSync(this.fd);
  }
}
