/**
 * The racy-stamp rule (git's "racily clean" entries, ninja's same-second
 * outputs). A stamp (size, mtime, ctime, inode) proves a file unchanged only
 * if a later write would have moved its timestamps. A write in the same
 * timestamp granule as the one recorded does not: on a filesystem with
 * 1-second timestamps, an edit of the same size in the second the stamp was
 * taken leaves the stamp as it was. So a stamp whose mtime or ctime is not
 * safely older than the moment it was taken is *racy*: it is recorded, but
 * not trusted; the file is read again at the next check (once: by then the
 * timestamps are old enough, and the new stamp is trusted).
 *
 * Granule: a timestamp with a sub-second part comes from a fine-grained
 * filesystem, whose kernel clock ticks in at most 10 ms: 100 ms covers it. A
 * whole-second timestamp may come from a 1-second (or FAT's 2-second)
 * filesystem: 2 s. Racy = mtime >= stamp time - granule (mtime only, as git:
 * a file last changed long ago stays trusted even if its ctime is recent).
 * An mtime in the future (clock skew) is always racy: such a file is hashed
 * at every check until its mtime is in the past.
 *
 * Cost: a file written less than a granule before its stamp was taken (an
 * output just produced, an input saved right before `pharos build`) is read
 * once more at the next check.
 */

const FINE_NS = 100_000_000n;
const COARSE_NS = 2_000_000_000n;
/** Prefix of a stored stamp that must not be trusted: never equal to a real stamp. */
export const RACY_MARK = '~';

/** a >= b for non-negative decimal integer strings without leading zeros. */
function geq(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a >= b;
}

/** Decides racy stamps against one stamp time; `see` also remembers whether any was racy. */
export class RacyCheck {
  /** Some stamp seen so far was racy. */
  racy = false;
  private readonly fine: string;
  private readonly coarse: string;
  constructor(stampTimeMs: number = Date.now()) {
    const ns = BigInt(Math.floor(stampTimeMs)) * 1_000_000n;
    this.fine = String(ns - FINE_NS);
    this.coarse = String(ns - COARSE_NS);
  }

  private timeRacy(t: string): boolean {
    if (t.startsWith('-')) return false;
    return geq(t, t.endsWith('000000000') ? this.coarse : this.fine);
  }

  /** Whether a `size:mtime_ns:ctime_ns:ino` stamp is racy (anything else is not). */
  isRacy(stamp: string): boolean {
    const i1 = stamp.indexOf(':');
    const i2 = stamp.indexOf(':', i1 + 1);
    if (i1 < 0 || i2 < 0) return false;
    return this.timeRacy(stamp.slice(i1 + 1, i2));
  }

  /** Returns `stamp` unchanged, noting whether it was racy. */
  see<T extends string | undefined>(stamp: T): T {
    if (stamp !== undefined && !this.racy && this.isRacy(stamp)) this.racy = true;
    return stamp;
  }

  /** What to store for a digest taken now: a racy stamp is marked so that it never matches. */
  stored(stamp: string): string {
    return this.isRacy(stamp) ? RACY_MARK + stamp : stamp;
  }
}
