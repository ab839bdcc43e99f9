/**
 * Kernel symbolisation from /proc/kallsyms, producing exactly the text
 * /proc/PID/stack prints for a frame: `func+0xoff/0xsize`, with ` [module]`
 * for module (and BPF) code. The stack holds return addresses, so, as the
 * kernel's %pB does, the symbol is looked up for address-1 (a call that is
 * the last instruction of a function returns into the next one) and the
 * offset is from the address itself. A symbol's size is the distance to the
 * next higher symbol of the same image (core kernel, or one module), which
 * is how kallsyms computes it; the last core symbol ends at _etext or
 * _einittext. Addresses are never part of the output: an address no symbol
 * covers becomes "?".
 */

import { readFileSync } from 'node:fs';

import { getOrCreate } from '../model/maps.ts';

/**
 * One symbol table image: the core kernel, a module, or "bpf". Addresses are
 * split into their top 12 bits (`hi`, the same for a whole image: kernel
 * addresses all start 0xfff...) and the low 52 bits as a plain number, which
 * is exact in a double and far cheaper to parse and compare than a BigInt.
 */
interface Image {
  hi: number;
  starts: Float64Array;
  ends: Float64Array;
  /**
   * Where each symbol's name is in the kallsyms text (kept whole): 120,000
   * small strings would be 120,000 objects for every major GC to mark, in a
   * daemon that keeps the table for its life.
   */
  nameFrom: Uint32Array;
  nameTo: Uint32Array;
  /** "" for the core kernel; the module name otherwise. */
  module: string;
}

export const UNKNOWN_FRAME = '?';
const MISS_RELOAD_MS = 10_000;
const LOW_BITS = 52n;
const LOW_MASK = (1n << LOW_BITS) - 1n;

/** A range of core kernel text, [start, end), as top-12 / low-52 bit halves. */
interface TextRange {
  hi: number;
  start: number;
  end: number;
}

/** The sections the kernel's in_sched_functions() covers: scheduler and lock functions. */
const SCHED_SECTIONS = [
  ['__sched_text_start', '__sched_text_end'],
  ['__lock_text_start', '__lock_text_end'],
] as const;
const MARKERS = new Set<string>(SCHED_SECTIONS.flat());

export class KernelSymbols {
  private constructor(
    private readonly text: string,
    private readonly images: Image[],
    private readonly schedText: TextRange[],
    /** Core-kernel data symbols (d/b), only with CONFIG_KALLSYMS_ALL: static locks' names. */
    private readonly data: DataTable | null,
  ) {}

  /**
   * Parses /proc/kallsyms text. Lines with zeroed addresses (no privilege)
   * are ignored. `modules` (/proc/modules) bounds each module's last symbol
   * by the module's end, as the kernel does.
   */
  static parse(text: string, modules = ''): KernelSymbols {
    const moduleEnds = parseModuleEnds(modules);
    const groups = new Map<string, { hi: number; module: string; starts: number[]; from: number[]; to: number[] }>();
    const coreEnds: Array<{ hi: number; lo: number }> = [];
    const markers = new Map<string, { hi: number; lo: number }>();
    const data = { hi: -1, starts: [] as number[], from: [] as number[], to: [] as number[] };
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const sp1 = text.indexOf(' ', start);
      const lineStart = start;
      start = end + 1;
      if (sp1 < 0 || sp1 > end || sp1 - lineStart !== 16 || sp1 + 3 > end) continue;
      const type = text.charCodeAt(sp1 + 1) | 0x20; // lower case: t, w, d, r, b, a
      // Only code is ever on a stack; data symbols would split functions' sizes wrongly.
      // Core data (d) and bss (b) symbols are kept apart: a static lock lives there.
      if ((type === 0x64 || type === 0x62) && text.charCodeAt(end - 1) !== 0x5d) addData(data, text, lineStart, sp1, end);
      if (type !== 0x74 && type !== 0x77) continue;
      const hi = parseInt(text.slice(lineStart, lineStart + 3), 16);
      const lo = parseInt(text.slice(lineStart + 3, sp1), 16);
      if (hi === 0 && lo === 0) continue;
      // "name" or "name\t[module]"
      // (Not indexOf: on a line without a tab it would scan on into the next lines.)
      let nameTo = end;
      for (let k = sp1 + 3; k < end; k++) {
        if (text.charCodeAt(k) === 9) {
          nameTo = k;
          break;
        }
      }
      const name = text.slice(sp1 + 3, nameTo);
      const module = nameTo === end ? '' : text.slice(nameTo + 1, end).replace(/^\[|\]$/g, '');
      if (module === '' && MARKERS.has(name)) markers.set(name, { hi, lo });
      // Section ends are markers, not functions: code lies below them.
      if (module === '' && (name === '_etext' || name === '_einittext')) {
        coreEnds.push({ hi, lo });
        continue;
      }
      const key = `${module}\0${hi}`;
      const g = getOrCreate(groups, key, () => ({ hi, module, starts: [], from: [], to: [] }));
      g.starts.push(lo);
      g.from.push(sp1 + 3);
      g.to.push(nameTo);
    }
    const images: Image[] = [];
    for (const g of groups.values()) {
      let order: number[] | null = null;
      for (let i = 1; i < g.starts.length; i++) {
        if (g.starts[i]! < g.starts[i - 1]!) {
          order = g.starts.map((_, k) => k).sort((x, y) => g.starts[x]! - g.starts[y]!);
          break;
        }
      }
      const n = g.starts.length;
      const starts = new Float64Array(n);
      const nameFrom = new Uint32Array(n);
      const nameTo = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const k = order ? order[i]! : i;
        starts[i] = g.starts[k]!;
        nameFrom[i] = g.from[k]!;
        nameTo[i] = g.to[k]!;
      }
      // Size: up to the next higher address (aliases share an address).
      const ends = new Float64Array(n);
      const ends0 = g.module === '' ? coreEnds : (moduleEnds.get(g.module) ?? []);
      const sectionEnds = ends0.filter((e) => e.hi === g.hi).map((e) => e.lo);
      let next = -1;
      for (let i = n - 1; i >= 0; i--) {
        const a = starts[i]!;
        if (i + 1 < n && starts[i + 1]! > a) next = starts[i + 1]!;
        ends[i] = next >= 0 ? next : lastEnd(a, sectionEnds);
      }
      images.push({ hi: g.hi, starts, ends, nameFrom, nameTo, module: g.module });
    }
    const schedText: TextRange[] = [];
    for (const [a, b] of SCHED_SECTIONS) {
      const s = markers.get(a);
      const e = markers.get(b);
      if (s && e && s.hi === e.hi && e.lo > s.lo) schedText.push({ hi: s.hi, start: s.lo, end: e.lo });
    }
    return new KernelSymbols(images.length > 0 || data.starts.length > 0 ? text : '', images, schedText, dataTable(data));
  }

  /**
   * The data symbol an address lies in (a static lock: `cgroup_mutex`), or
   * null: always null without CONFIG_KALLSYMS_ALL, and for heap addresses
   * (outside the first and last data symbols, or past MAX_DATA_SIZE).
   */
  dataSymbol(address: bigint): string | null {
    const d = this.data;
    if (!d || Number(address >> LOW_BITS) !== d.hi) return null;
    const lo = Number(address & LOW_MASK);
    const i = floorIndex(d.starts, lo);
    if (i < 0 || i === d.starts.length - 1 || lo - d.starts[i]! >= MAX_DATA_SIZE) return null;
    return this.text.slice(d.nameFrom[i]!, d.nameTo[i]!);
  }

  /** False when kallsyms did not show the section markers (then nothing can be filtered). */
  get knowsSchedText(): boolean {
    return this.schedText.length > 0;
  }

  /**
   * The kernel's in_sched_functions(): the address is in the scheduler's or
   * the lock functions' text. /proc/PID/stack leaves such frames out.
   */
  inSchedFunctions(address: bigint): boolean {
    const hi = Number(address >> LOW_BITS);
    const lo = Number(address & LOW_MASK);
    return this.schedText.some((r) => r.hi === hi && lo >= r.start && lo < r.end);
  }

  get size(): number {
    return this.images.reduce((n, i) => n + i.starts.length, 0);
  }

  /** The frame text for a return address, or null when no symbol covers it. */
  lookup(address: bigint): string | null {
    const hi = Number(address >> LOW_BITS);
    const lo = Number(address & LOW_MASK);
    const probe = lo - 1;
    for (const img of this.images) {
      if (img.hi !== hi) continue;
      let i = floorIndex(img.starts, probe);
      if (i < 0) continue;
      // Aliases share an address; the kernel names the first in kallsyms order.
      while (i > 0 && img.starts[i - 1] === img.starts[i]) i--;
      const start = img.starts[i]!;
      const end = img.ends[i]!;
      if (probe >= end) continue;
      const name = this.text.slice(img.nameFrom[i]!, img.nameTo[i]!);
      const text = `${name}+0x${(lo - start).toString(16)}/0x${(end - start).toString(16)}`;
      return img.module === '' ? text : `${text} [${img.module}]`;
    }
    return null;
  }
}

interface DataTable {
  hi: number;
  starts: Float64Array;
  nameFrom: Uint32Array;
  nameTo: Uint32Array;
}

/** No static kernel object a lock lives in is this large; beyond it the address is elsewhere. */
const MAX_DATA_SIZE = 1 << 16;

function addData(
  d: { hi: number; starts: number[]; from: number[]; to: number[] },
  text: string,
  lineStart: number,
  sp1: number,
  end: number,
): void {
  const hi = parseInt(text.slice(lineStart, lineStart + 3), 16);
  const lo = parseInt(text.slice(lineStart + 3, sp1), 16);
  if ((hi === 0 && lo === 0) || (d.hi >= 0 && hi !== d.hi)) return;
  d.hi = hi;
  d.starts.push(lo);
  d.from.push(sp1 + 3);
  d.to.push(end);
}

/**
 * Without CONFIG_KALLSYMS_ALL kallsyms still lists a few dozen section
 * markers as data (`__start_rodata`, `__bss_start`, ...): a lock near one
 * would take its name. A real data table has tens of thousands of symbols.
 */
const MIN_DATA_SYMBOLS = 1000;

function dataTable(d: { hi: number; starts: number[]; from: number[]; to: number[] }): DataTable | null {
  if (d.starts.length < MIN_DATA_SYMBOLS) return null;
  const order = d.starts.map((_, k) => k).sort((x, y) => d.starts[x]! - d.starts[y]!);
  return {
    hi: d.hi,
    starts: Float64Array.from(order, (k) => d.starts[k]!),
    nameFrom: Uint32Array.from(order, (k) => d.from[k]!),
    nameTo: Uint32Array.from(order, (k) => d.to[k]!),
  };
}

/** "name size refs deps state 0xaddress" lines: where each module ends. */
function parseModuleEnds(text: string): Map<string, Array<{ hi: number; lo: number }>> {
  const out = new Map<string, Array<{ hi: number; lo: number }>>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const m = /^0x([0-9a-f]{16})$/.exec(f[5] ?? '');
    if (!m || !/^\d+$/.test(f[1] ?? '')) continue;
    const end = BigInt(`0x${m[1]}`) + BigInt(f[1]!);
    if (end === BigInt(f[1]!)) continue; // address hidden
    out.set(f[0]!, [{ hi: Number(end >> LOW_BITS), lo: Number(end & LOW_MASK) }]);
  }
  return out;
}

/** The last symbol of an image ends at the first section end above it, else one page later. */
function lastEnd(addr: number, ends: number[]): number {
  let best = -1;
  for (const e of ends) if (e > addr && (best < 0 || e < best)) best = e;
  return best >= 0 ? best : addr + 0x1000;
}

/** Index of the greatest element <= x, or -1. */
function floorIndex(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) {
      ans = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return ans;
}

/**
 * /proc/kallsyms, parsed once and kept: reading it costs ~100 ms. The core
 * kernel's symbols never move; modules and BPF programs come and go, so the
 * table is re-read when /proc/modules changes, or once when a capture meets
 * an address it does not cover (a BPF program loaded since).
 */
export class KallsymsCache {
  private table: KernelSymbols | null = null;
  private modulesKey: string | null = null;
  private loadedAt = 0;
  /**
   * /proc/modules was missing at the last reload (CONFIG_MODULES=n): not
   * looked for again until the next reload, instead of a failed open at
   * every lookup (~14 per sample).
   */
  private modulesAbsent = false;

  constructor(private readonly procRoot = '/proc') {}

  symbols(): KernelSymbols {
    if (this.table === null) this.reload();
    else if (!this.modulesAbsent && this.readModules() !== this.modulesKey) this.reload();
    return this.table!;
  }

  /** Frame texts for a stack, innermost first; "?" for an address nothing covers. */
  symbolize(stack: readonly bigint[]): string[] {
    return this.symbolizeAll([stack])[0]!;
  }

  /** Symbolises many stacks with at most one reload between them. */
  symbolizeAll(stacks: ReadonlyArray<readonly bigint[]>): string[][] {
    const table = this.symbols();
    // A running task's stack can hold an address no symbol covers for good:
    // re-read at most every MISS_RELOAD_MS, not at every capture.
    if (Date.now() - this.loadedAt > MISS_RELOAD_MS && stacks.some((s) => s.some((a) => table.lookup(a) === null))) {
      this.reload();
    }
    const t = this.table!;
    return stacks.map((s) => s.map((a) => t.lookup(a) ?? UNKNOWN_FRAME));
  }

  /** Re-reads /proc/kallsyms, and looks for /proc/modules again. */
  private reload(): void {
    this.modulesAbsent = false;
    const key = this.readModules();
    this.table = KernelSymbols.parse(readFileSync(`${this.procRoot}/kallsyms`, 'latin1'), key);
    this.modulesKey = key;
    this.loadedAt = Date.now();
  }

  private readModules(): string {
    try {
      return readFileSync(`${this.procRoot}/modules`, 'latin1');
    } catch {
      this.modulesAbsent = true; // CONFIG_MODULES=n (or a tree without it)
      return '';
    }
  }
}
