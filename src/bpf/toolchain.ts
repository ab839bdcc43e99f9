/**
 * What building the eBPF helper needs (bpf/Makefile), package by package
 * (Debian names), and how to tell whether each is installed. One list for
 * the build script (scripts/build-bpf.mjs imports the compiled module, after
 * tsc) and for `loadmon doctor`, so the two never disagree about what is
 * missing. Dependency-free on purpose: the build script runs it as plain JS.
 */

import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ToolRequirement {
  /** The Debian/Ubuntu package that provides it. */
  package: string;
  /** Why the build needs it. */
  role: string;
  /** Installed when one of these commands is on the PATH (or in /usr/sbin, /sbin)... */
  commands?: readonly string[];
  /** ...or when this file exists. */
  file?: string;
}

export const BPF_TOOLCHAIN: readonly ToolRequirement[] = [
  { package: 'clang', role: 'compiles the BPF programs', commands: ['clang'] },
  { package: 'llvm', role: 'the BPF back end and object tools clang uses', commands: ['llc'] },
  { package: 'libbpf-dev', role: 'the loader library and its headers', file: '/usr/include/bpf/libbpf.h' },
  { package: 'bpftool', role: 'vmlinux.h from the kernel BTF, and the skeleton', commands: ['bpftool'] },
  { package: 'libelf-dev', role: 'libbpf reads ELF objects', file: '/usr/include/libelf.h' },
  { package: 'zlib1g-dev', role: 'libbpf links zlib', file: '/usr/include/zlib.h' },
  { package: 'gcc', role: 'compiles the helper program', commands: ['cc', 'gcc'] },
];

/** The packages to install, as one apt-get argument list. */
export const BPF_PACKAGES = BPF_TOOLCHAIN.map((t) => t.package).join(' ');

/** A command's path: bpftool lives in /usr/sbin, which is not on an ordinary user's PATH. */
export function which(cmd: string, path = process.env.PATH ?? ''): string | null {
  for (const d of [...path.split(delimiter).filter(Boolean), '/usr/sbin', '/sbin']) {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return join(d, cmd);
    } catch {
      /* next */
    }
  }
  return null;
}

export function isInstalled(t: ToolRequirement, find: (cmd: string) => string | null = which): boolean {
  if (t.commands?.some((c) => find(c) !== null)) return true;
  return t.file !== undefined && existsSync(t.file);
}

/** The requirements not installed here, in the list's order. */
export function missingTools(find: (cmd: string) => string | null = which): ToolRequirement[] {
  return BPF_TOOLCHAIN.filter((t) => !isInstalled(t, find));
}
