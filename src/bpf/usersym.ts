/**
 * User-space stacks to text: each address is found in the process's
 * executable mappings (read by the helper from /proc/PID/maps under a
 * deadline), then in the mapped file's ELF symbols (elf.ts), or, for code a
 * JIT wrote into anonymous memory, in /tmp/perf-PID.map (the perf map file
 * node --perf-basic-prof, the JVM's perf-map-agent and others write).
 *
 * Frames read `func+0xoff/0xsize (file)`, the shape of kernel frames plus
 * the file's base name, so normalizeFrame() strips the offsets of both. A
 * frame whose file is known but whose function is not reads `? (file)`; one
 * outside any mapping reads `?`. Addresses are never printed.
 */

import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';

import { ElfSymbols } from './elf.ts';
import type { MapRecord } from './protocol.ts';

export interface PerfMapEntry {
  start: number;
  size: number;
  name: string;
}

/** Parses a perf map: "START SIZE NAME" a line, hex without 0x; sorted by start. */
export function parsePerfMap(text: string): PerfMapEntry[] {
  const out: PerfMapEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.+)$/.exec(line);
    if (!m) continue;
    out.push({ start: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16), name: m[3]! });
  }
  return out.sort((a, b) => a.start - b.start);
}

function findPerfEntry(entries: PerfMapEntry[], addr: number): PerfMapEntry | null {
  let lo = 0;
  let hi = entries.length - 1;
  let i = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid]!.start <= addr) {
      i = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const e = i < 0 ? undefined : entries[i];
  return e && addr < e.start + e.size ? e : null;
}

interface Mapping {
  start: number;
  end: number;
  offset: number;
  path: string;
}

export class UserSymbolizer {
  /** ELF tables by file identity (device, inode, mtime); null: not an ELF file we can read. */
  private readonly elves = new Map<string, ElfSymbols | null>();

  constructor(private readonly procRoot = '/proc') {}

  /**
   * Symbolises stacks of one process. `maps` are its executable mappings.
   * Frame 0 is the interrupted instruction; the others are return addresses,
   * looked up at address-1 (as for kernel frames).
   */
  symbolize(pid: number, stacks: ReadonlyArray<readonly bigint[]>, maps: readonly MapRecord[]): string[][] {
    const mappings: Mapping[] = maps
      .map((m) => ({ start: Number(m.start), end: Number(m.end), offset: Number(m.offset), path: m.path }))
      .sort((a, b) => a.start - b.start);
    let perfMap: PerfMapEntry[] | null = null;
    const perf = (): PerfMapEntry[] => (perfMap ??= this.readPerfMap(pid));
    return stacks.map((stack) =>
      stack.map((a, i) => {
        const addr = Number(a);
        const probe = i === 0 ? addr : addr - 1;
        const m = mappings.find((x) => probe >= x.start && probe < x.end);
        if (m?.path.startsWith('/')) {
          const elf = this.elf(pid, m.path);
          const name = basename(m.path.replace(/ \(deleted\)$/, ''));
          const vaddr = elf?.vaddrOfOffset(probe - m.start + m.offset);
          const sym = vaddr == null ? null : elf!.lookup(vaddr);
          if (sym && vaddr != null)
            return `${sym.name}+0x${(vaddr - (probe - addr) - sym.start).toString(16)}/0x${sym.size.toString(16)} (${name})`;
          return `? (${name})`;
        }
        const e = findPerfEntry(perf(), probe);
        if (e) return `${e.name}+0x${(addr - e.start).toString(16)}/0x${e.size.toString(16)} (perf-${pid}.map)`;
        if (m && m.path !== '') return `? (${m.path})`;
        return '?';
      }),
    );
  }

  private elf(pid: number, path: string): ElfSymbols | null {
    // The file as the process sees it (its mount namespace), else as we do.
    for (const candidate of [`${this.procRoot}/${pid}/root${path}`, path]) {
      let key: string;
      try {
        const st = statSync(candidate);
        key = `${st.dev}:${st.ino}:${st.mtimeMs}`;
      } catch {
        continue;
      }
      if (this.elves.has(key)) return this.elves.get(key)!;
      let syms: ElfSymbols | null = null;
      try {
        syms = ElfSymbols.load(candidate);
      } catch {
        syms = null;
      }
      this.elves.set(key, syms);
      return syms;
    }
    return null;
  }

  private readPerfMap(pid: number): PerfMapEntry[] {
    for (const p of [`/tmp/perf-${pid}.map`, `${this.procRoot}/${pid}/root/tmp/perf-${pid}.map`]) {
      try {
        return parsePerfMap(readFileSync(p, 'utf8'));
      } catch {
        /* next */
      }
    }
    return [];
  }
}
