/**
 * File-system failures under `.pharos/` (and of a target's log) as one clear
 * message naming the file: a full disk, EIO, a read-only filesystem, a
 * directory where a file should be. Exit status 74 (EX_IOERR of sysexits.h).
 */
import { PharosError } from '../errors.js';

export const IO_EXIT = 74;

const WHAT: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOTEMPTY: 'a directory is in the way',
  EEXIST: 'something else is in the way',
  EMFILE: 'too many open files',
  ENOENT: 'no such file or directory',
};

const HINT: Record<string, string> = {
  ENOSPC: 'free space on that filesystem, then run the build again',
  EDQUOT: 'free space (or raise the quota), then run the build again',
  EROFS: 'run from a writable checkout, or point the state elsewhere',
  EACCES: 'fix the permissions of the state directory',
  EPERM: 'fix the permissions of the state directory',
};

export function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** `doing` is a verb phrase: `write`, `append to`, `create`. Passes PharosErrors through. */
export function ioError(e: unknown, doing: string, path: string): PharosError {
  if (e instanceof PharosError) return e;
  const code = errnoCode(e);
  const what = (code && WHAT[code]) ?? (e instanceof Error ? e.message : String(e));
  const structural = code === 'EISDIR' || code === 'ENOTDIR' || code === 'ENOTEMPTY' || code === 'EEXIST';
  return new PharosError(`cannot ${doing} ${path}: ${what}${code ? ` (${code})` : ''}`, {
    hint: (code && HINT[code]) ?? (structural ? 'the build state is damaged: `pharos clean` discards it (targets rebuild; the machine cache is kept)' : undefined),
    exitCode: IO_EXIT,
  });
}

/** Runs `fn`, turning a thrown file-system error into `ioError`. */
export function io<T>(doing: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw ioError(e, doing, path);
  }
}
