/**
 * Function symbols of an ELF64 little-endian file (executables and shared
 * libraries), for user-space stacks: .symtab when the file has one (not
 * stripped), plus .dynsym (exported functions, present even in stripped
 * libraries). Only the headers and the symbol and string tables are read,
 * never the whole file (a runtime such as node is ~100 MB).
 *
 * Addresses inside a process map to the file through /proc/PID/maps (file
 * offset), then to the ELF's virtual addresses through its PT_LOAD segments.
 * User addresses fit in 47 bits, so plain numbers are exact.
 */

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

export interface ElfSymbol {
  name: string;
  /** Virtual address of the symbol. */
  start: number;
  size: number;
}

interface Segment {
  offset: number;
  vaddr: number;
  filesz: number;
}

export class ElfError extends Error {}

export class ElfSymbols {
  private constructor(
    private readonly starts: Float64Array,
    private readonly ends: Float64Array,
    private readonly names: string[],
    private readonly segments: Segment[],
  ) {}

  get count(): number {
    return this.names.length;
  }

  static load(path: string): ElfSymbols {
    const fd = openSync(path, 'r');
    try {
      return ElfSymbols.read(fd, fstatSync(fd).size);
    } finally {
      closeSync(fd);
    }
  }

  private static read(fd: number, fileSize: number): ElfSymbols {
    const pread = (off: number, len: number): Buffer => {
      if (off < 0 || len < 0 || off + len > fileSize) throw new ElfError('truncated ELF file');
      const b = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, b, got, len - got, off + got);
        if (n === 0) throw new ElfError('truncated ELF file');
        got += n;
      }
      return b;
    };
    const eh = pread(0, 64);
    if (eh.readUInt32BE(0) !== 0x7f454c46) throw new ElfError('not an ELF file');
    if (eh[4] !== 2 || eh[5] !== 1) throw new ElfError('not a 64-bit little-endian ELF file');
    const phoff = Number(eh.readBigUInt64LE(0x20));
    const shoff = Number(eh.readBigUInt64LE(0x28));
    const phentsize = eh.readUInt16LE(0x36);
    const phnum = eh.readUInt16LE(0x38);
    const shentsize = eh.readUInt16LE(0x3a);
    const shnum = eh.readUInt16LE(0x3c);

    const segments: Segment[] = [];
    if (phnum > 0) {
      const ph = pread(phoff, phentsize * phnum);
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        if (ph.readUInt32LE(o) !== PT_LOAD) continue;
        segments.push({
          offset: Number(ph.readBigUInt64LE(o + 8)),
          vaddr: Number(ph.readBigUInt64LE(o + 16)),
          filesz: Number(ph.readBigUInt64LE(o + 32)),
        });
      }
    }

    const syms: ElfSymbol[] = [];
    if (shnum > 0 && shoff > 0) {
      const sh = pread(shoff, shentsize * shnum);
      const section = (i: number): { type: number; offset: number; size: number; link: number; entsize: number } => {
        const o = i * shentsize;
        return {
          type: sh.readUInt32LE(o + 4),
          offset: Number(sh.readBigUInt64LE(o + 24)),
          size: Number(sh.readBigUInt64LE(o + 32)),
          link: sh.readUInt32LE(o + 40),
          entsize: Number(sh.readBigUInt64LE(o + 56)),
        };
      };
      for (let i = 0; i < shnum; i++) {
        const s = section(i);
        if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
        if (s.link >= shnum || s.entsize < 24) continue;
        const str = section(s.link);
        const tab = pread(s.offset, s.size);
        const strtab = pread(str.offset, str.size);
        for (let o = 0; o + 24 <= tab.length; o += s.entsize) {
          const info = tab[o + 4]!;
          const type = info & 0xf;
          if (type !== STT_FUNC && type !== STT_GNU_IFUNC) continue;
          if (tab.readUInt16LE(o + 6) === 0) continue; // undefined (imported)
          const value = Number(tab.readBigUInt64LE(o + 8));
          if (value === 0) continue;
          const nameOff = tab.readUInt32LE(o);
          const nameEnd = strtab.indexOf(0, nameOff);
          const name = strtab.toString('utf8', nameOff, nameEnd < 0 ? strtab.length : nameEnd);
          if (name === '') continue;
          syms.push({ name, start: value, size: Number(tab.readBigUInt64LE(o + 16)) });
        }
      }
    }
    // Sorted by address; for equal addresses prefer a sized, .symtab (first seen) name.
    syms.sort((a, b) => a.start - b.start || b.size - a.size);
    const uniq = syms.filter((s, i) => i === 0 || s.start !== syms[i - 1]!.start);
    const n = uniq.length;
    const starts = new Float64Array(n);
    const ends = new Float64Array(n);
    const names = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const s = uniq[i]!;
      starts[i] = s.start;
      names[i] = s.name;
      // A symbol without a size (hand-written assembly) runs to the next one.
      ends[i] = s.size > 0 ? s.start + s.size : i + 1 < n ? uniq[i + 1]!.start : s.start + 1;
    }
    return new ElfSymbols(starts, ends, names, segments);
  }

  /** The virtual address that a file offset is loaded at, or null if no PT_LOAD segment holds it. */
  vaddrOfOffset(fileOffset: number): number | null {
    for (const s of this.segments) {
      if (fileOffset >= s.offset && fileOffset < s.offset + s.filesz) return fileOffset - s.offset + s.vaddr;
    }
    return null;
  }

  /** The function containing a virtual address. */
  lookup(vaddr: number): ElfSymbol | null {
    let lo = 0;
    let hi = this.starts.length - 1;
    let i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= vaddr) {
        i = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (i < 0 || vaddr >= this.ends[i]!) return null;
    return { name: this.names[i]!, start: this.starts[i]!, size: this.ends[i]! - this.starts[i]! };
  }
}
