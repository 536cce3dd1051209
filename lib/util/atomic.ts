/**
 * Writing files safely. Every file Pharos replaces is filled under a temp name
 * beside it (`tempPathFor`: `<file>.<pid>.<8 hex>.tmp`, one style everywhere, so
 * sweepers recognise leftovers with `isTempName`) and renamed into place, so a
 * reader sees the old or the new content, never a torn one. `serialized` runs
 * read-modify-write updates of one file one after another within this process
 * (the project lock keeps other processes out), so concurrent updates cannot
 * lose each other's lines.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';

/** A fresh temp name beside `file`: same directory (rename stays atomic), unique per process and call. */
export function tempPathFor(file: string): string {
  return `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

const TEMP_NAME = /\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** Whether a file name is one `tempPathFor` makes. */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** The pid of the process that made a `tempPathFor` name (for sweeping the leftovers of dead ones). */
export function tempNamePid(name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Puts a file at `dest` atomically: `fill` creates it under a temp name beside
 * `dest`, which is then renamed into place; on any failure the temp file is
 * removed and the error passes through.
 */
export async function replaceFileAtomic(dest: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempPathFor(dest);
  try {
    await fill(tmp);
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true, recursive: true });
    throw e;
  }
}

/** `data` into `file` atomically; `mode` (else the default 0o666 less umask) applies to the new file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode?: number): Promise<void> {
  await replaceFileAtomic(file, (tmp) => writeFile(tmp, data, mode === undefined ? {} : { mode }));
}

/** `writeFileAtomic` for synchronous callers (the cache state). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, mode?: number): void {
  const tmp = tempPathFor(file);
  try {
    writeFileSync(tmp, data, mode === undefined ? {} : { mode });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true, recursive: true });
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
