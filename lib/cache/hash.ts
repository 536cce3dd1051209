/**
 * File digests with a stat fast path. A file is read only when its stamp
 * (size, mtime_ns, ctime_ns, inode) differs from the one recorded with its last
 * digest, so an unchanged 10 GiB image costs one `stat` — unless the recorded
 * stamp was racy (taken within a timestamp granule of the file's last change,
 * see racy.ts): then it is read once more.
 *
 * Algorithm: sha256 from node:crypto. Measured on the dev box (Node 20, 256 MiB
 * buffers): sha256 1.68 GB/s, sha1 1.79 GB/s, blake2b512 0.95 GB/s, md5 0.71 GB/s.
 * sha256 is within 10% of sha1 thanks to SHA-NI and is not broken, so it wins.
 * Large files are read with one reused 4 MiB buffer.
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import { RacyCheck } from './racy.js';

export const HASH_ALGORITHM = 'sha256';
const CHUNK = 4 * 1024 * 1024;
/** Files up to this size are hashed synchronously (cheaper than an async round trip). */
const SYNC_LIMIT = 1024 * 1024;

/** Counters for proofs and the summary: how many files/bytes were actually read. */
export const hashStats = { files: 0, bytes: 0 };

export function resetHashStats(): void {
  hashStats.files = 0;
  hashStats.bytes = 0;
}

/** One-shot `crypto.hash` (Node >= 20.12): about 1.5x faster than createHash for the small strings of keys. */
const oneShot = (crypto as { hash?: (alg: string, data: string | Buffer, enc: 'hex') => string }).hash;

export function digestString(s: string | Buffer): string {
  return oneShot ? oneShot(HASH_ALGORITHM, s, 'hex') : createHash(HASH_ALGORITHM).update(s).digest('hex');
}

/** `size:mtime_ns:ctime_ns:ino` — any change means the content may have changed. */
export function stampOf(st: BigIntStats): string {
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
}

/** Stat without throwing; `undefined` when the path does not exist. */
export function statStamp(path: string): FileStat | undefined {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (!st) return undefined;
  return { stamp: stampOf(st), size: Number(st.size), isDir: st.isDirectory() };
}

/**
 * Just the stamp: `DIRECTORY` for a directory, `undefined` when missing. The
 * no-op check calls this 100,000 times, so it allocates no result object.
 */
export function stampOnly(path: string): string | undefined {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (!st) return undefined;
  return st.isDirectory() ? DIRECTORY : stampOf(st);
}

let shared: Buffer | undefined;

export function hashFileSync(path: string): string {
  const h = createHash(HASH_ALGORITHM);
  const fd = openSync(path, 'r');
  shared ??= Buffer.allocUnsafe(CHUNK);
  let total = 0;
  try {
    for (;;) {
      const n = readSync(fd, shared, 0, CHUNK, null);
      if (n === 0) break;
      h.update(n === CHUNK ? shared : shared.subarray(0, n));
      total += n;
    }
  } finally {
    closeSync(fd);
  }
  hashStats.files++;
  hashStats.bytes += total;
  return h.digest('hex');
}

/**
 * Streams a file through the hash with two 4 MiB buffers: the next read runs in
 * the thread pool while the current chunk is hashed, so I/O and hashing overlap.
 */
export async function hashFile(path: string): Promise<string> {
  const h = createHash(HASH_ALGORITHM);
  const fh = await open(path, 'r');
  const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let total = 0;
  try {
    let cur = 0;
    let pending = fh.read(bufs[0]!, 0, CHUNK, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const buf = bufs[cur]!;
      cur ^= 1;
      pending = fh.read(bufs[cur]!, 0, CHUNK, null);
      h.update(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
  hashStats.files++;
  hashStats.bytes += total;
  return h.digest('hex');
}

/** Where digests of unchanged files come from: path -> [stamp, digest]. */
export type StampDb = Map<string, [string, string]>;

/** Digest a missing file gets, so "deleted" is a visible change in `pharos why`. */
export const MISSING = 'missing';
/** What `digestFile` returns for a directory: the caller expands it. */
export const DIRECTORY = 'directory';

/** What `statStamp` returns: the stamp plus what the digest path needs. */
export type FileStat = { stamp: string; size: number; isDir: boolean };

/**
 * The digest of `path`, reusing the recorded one when the stamp is unchanged.
 * Returns a string synchronously when no large read is needed (the no-op path
 * stays free of promise round trips), a promise otherwise.
 */
export function digestFile(db: StampDb, path: string): string | Promise<string> {
  return digestStat(db, path, statStamp(path));
}

/** `digestFile` with the stat already taken (`undefined` = the path does not exist). */
export function digestStat(db: StampDb, path: string, st: FileStat | undefined): string | Promise<string> {
  if (!st) {
    db.delete(path);
    return MISSING;
  }
  if (st.isDir) return DIRECTORY;
  const known = db.get(path);
  if (known && known[0] === st.stamp) return known[1];
  // Stamp time: now, before reading (see racy.ts); a racy stamp is stored marked, so the next check reads again.
  const stamp = new RacyCheck().stored(st.stamp);
  if (st.size <= SYNC_LIMIT) {
    const d = hashFileSync(path);
    db.set(path, [stamp, d]);
    return d;
  }
  return hashFile(path).then((d) => {
    db.set(path, [stamp, d]);
    return d;
  });
}
