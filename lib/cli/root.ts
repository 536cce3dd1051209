/**
 * Finding the project root: `-C DIR` when given, otherwise the nearest
 * directory, from the working directory upward, that holds `pharos.build.ts`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PharosError } from '../errors.js';

export const BUILD_FILE = 'pharos.build.ts';

export function findRootSync(explicit?: string, from = process.cwd()): string {
  if (explicit) {
    const r = resolve(from, explicit);
    if (!existsSync(join(r, BUILD_FILE))) {
      throw new PharosError(`${r} has no ${BUILD_FILE}`, { hint: '-C/--root must name a Pharos project directory' });
    }
    return r;
  }
  for (let d = resolve(from); ; d = dirname(d)) {
    if (existsSync(join(d, BUILD_FILE))) return d;
    if (dirname(d) === d) break;
  }
  throw new PharosError(`no ${BUILD_FILE} in ${resolve(from)} or any parent directory`, {
    hint: 'run pharos inside a Pharos checkout, or pass -C DIR',
  });
}

export async function findRoot(explicit?: string, from = process.cwd()): Promise<string> {
  return findRootSync(explicit, from);
}
