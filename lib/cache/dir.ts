/**
 * The machine-level artifact cache: `$PHAROS_CACHE`, else
 * `$XDG_CACHE_HOME/pharos`, else `~/.cache/pharos`. One place, so the engine
 * (ctx.cacheDir), the image store and Packer's cache agree.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PHAROS_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pharos');
}
