/**
 * Writing small state files safely: `writeFileAtomic` writes a temp file beside
 * the target and renames it into place, so a reader sees the old or the new
 * content, never a torn one; `serialized` runs read-modify-write updates of one
 * file one after another within this process (the project lock keeps other
 * processes out), so concurrent updates cannot lose each other's lines.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(file: string, data: string, mode = 0o644): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { mode });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier `serialized` call with the same key has settled. */
export function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}
