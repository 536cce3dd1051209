/**
 * The machine-level content-addressed image store (`$PHAROS_CACHE`, default
 * `~/.cache/pharos`). An entry's path contains its key, so any clone or CI run
 * on the same machine that computes the same key finds the same file. Entries
 * appear atomically (copy to a temp name in the same directory, then rename):
 * a reader never sees half an image, and a crashed build leaves only a temp file.
 */
import { copyFile, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PharosError } from '../errors.js';
import { fileDigest } from '../util/digest.js';
import { replaceFileAtomic, writeFileAtomic } from '../util/atomic.js';

export { defaultCacheDir } from '../cache/dir.js';

function checkKey(key: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(key)) {
    throw new PharosError(`invalid cache key '${key}'`, { hint: 'use a hex digest or [A-Za-z0-9._-]' });
  }
}

/** Where `name` stored under `key` lives (whether or not it exists yet). */
export function cachePath(cacheDir: string, key: string, name: string): string {
  checkKey(key);
  return join(cacheDir, 'images', key, basename(name));
}

export async function cacheLookup(cacheDir: string, key: string, name: string): Promise<string | undefined> {
  const p = cachePath(cacheDir, key, name);
  try {
    const s = await stat(p);
    return s.isFile() ? p : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Put `file` into the store under `key` and return its stored path
 * (`<cacheDir>/images/<key>/<basename(file)>`). `move: true` renames instead of
 * copying when both are on one filesystem (falls back to copy across devices).
 * An entry already present is kept (same key = same content by construction).
 */
export async function storeInCache(
  cacheDir: string,
  file: string,
  key: string,
  opts: { move?: boolean; name?: string; sha256?: string } = {},
): Promise<string> {
  const dest = cachePath(cacheDir, key, opts.name ?? file);
  const existing = await cacheLookup(cacheDir, key, opts.name ?? file);
  if (existing) {
    if (opts.move) await rm(file, { force: true });
    return existing;
  }
  if (opts.sha256) {
    // The sidecar goes first: an entry never exists without its digest once
    // the caller provided one (a crash in between leaves only a stray sidecar).
    await mkdir(dirname(dest), { recursive: true });
    await writeFileAtomic(`${dest}.sha256`, `${opts.sha256}\n`);
  }
  await mkdir(dirname(dest), { recursive: true });
  try {
    await replaceFileAtomic(dest, async (tmp) => {
      if (opts.move) {
        try {
          await rename(file, tmp);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
          await copyFile(file, tmp);
          await rm(file, { force: true });
        }
      } else {
        await copyFile(file, tmp);
      }
    });
  } catch (e) {
    throw new PharosError(`cannot store ${file} in the image cache ${cacheDir}: ${(e as Error).message}`);
  }
  return dest;
}


/**
 * sha256 of a stored entry without reading it when possible: entries never
 * change after they appear, so the `<entry>.sha256` sidecar written at store
 * time (or on the first call here) stays valid for good.
 */
export async function cachedSha256(entry: string): Promise<string> {
  try {
    const s = (await readFile(`${entry}.sha256`, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(s)) return s;
  } catch {
    /* no sidecar yet */
  }
  const digest = await fileDigest(entry, 'sha256');
  await writeFileAtomic(`${entry}.sha256`, `${digest}\n`).catch(() => undefined);
  return digest;
}
