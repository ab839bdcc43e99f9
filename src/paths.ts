import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: src/ and dist/ both sit one level below it. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const HELPERS_DIR = join(PACKAGE_ROOT, 'helpers');
export const KERNEL_DIR = join(PACKAGE_ROOT, 'kernel');
