/**
 * `pharos migrate`: the Pharos-native form of an ai-how config. The file is
 * first loaded as `pharos validate` would (every error reported, nothing
 * written for a config that would not load), then parsed again, unexpanded,
 * and given the compatibility pass alone, so `${VAR}`s, comments and key order
 * survive. The rewrites returned are the ones `pharos validate` warns about.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { PharosError } from '../errors.js';
import { applyCompat, type CompatRewrite } from './compat.js';
import { loadConfigText, type LoadOptions } from './load.js';

export interface Migrated {
  /** The Pharos form, as YAML text. */
  text: string;
  rewrites: CompatRewrite[];
}

/** Migrates config text; throws the loader's PharosError when it does not load. */
export function migrateText(source: string, file: string, opts: LoadOptions = {}): Migrated {
  loadConfigText(source, file, { ...opts, strict: false });
  const lc = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lc, uniqueKeys: true });
  const rewrites = applyCompat(doc, lc, file);
  return { text: rewrites.length ? doc.toString() : source, rewrites };
}

export async function migrateFile(path: string, opts: LoadOptions = {}): Promise<Migrated> {
  const abs = resolve(path);
  let source: string;
  try {
    source = await readFile(abs, 'utf8');
  } catch (e) {
    throw new PharosError(`cannot read config ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((e as Error).message)}`, {
      hint: 'pass an existing YAML file',
      exitCode: 2,
    });
  }
  return migrateText(source, abs, opts);
}
