/**
 * `.pharos/lock`: one build at a time per project.
 *
 * Taking it: the full holder record is written to a temp file, which is then
 * `link()`ed to `lock`; link fails with EEXIST atomically, so the lock never
 * exists half-written and exactly one contender wins. The record names the
 * holder by pid *and* process start time (`/proc/PID/stat` field 22), so a
 * recycled pid is not mistaken for the holder.
 *
 * A lock whose holder is gone (crash, kill -9) is stale and taken over, under
 * `lock.takeover` (taken the same way): the taker re-reads the lock while
 * holding it and removes it only if it is still the record it judged stale,
 * so two contenders cannot both remove a lock and one remove the other's new
 * one. An empty or unreadable lock is never stale: it is reported, not removed.
 * Release removes the lock only if it still holds this holder's token.
 */
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PharosError } from '../errors.js';
import { liveStartTime } from '../tools/proc.js';
import { io, ioError } from './ioerror.js';
import { tempPathFor } from '../util/atomic.js';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  /** `/proc/PID/stat` field 22 of the holder (absent in locks of older versions). */
  procStart?: string;
  /** Random per acquisition: release removes only a lock carrying its own token. */
  token?: string;
}

type Raw = { kind: 'none' } | { kind: 'bad'; why: string } | { kind: 'ok'; info: LockInfo; text: string };

function readRaw(path: string): Raw {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    return { kind: 'bad', why: `cannot read it: ${code ?? String(e)}` };
  }
  if (!text) return { kind: 'bad', why: 'it is empty' };
  try {
    const info = JSON.parse(text) as LockInfo;
    if (info && typeof info === 'object' && Number.isInteger(info.pid) && typeof info.host === 'string') return { kind: 'ok', info, text };
  } catch {
    /* below */
  }
  return { kind: 'bad', why: 'it is not a lock record' };
}

export function readLock(stateDir: string): LockInfo | undefined {
  const r = readRaw(join(stateDir, 'lock'));
  return r.kind === 'ok' ? r.info : undefined;
}

const haveProc = existsSync('/proc/self/stat');

/** Whether the process a record names still runs (same pid, same start time). */
function holderAlive(info: LockInfo): boolean {
  if (!haveProc) {
    try {
      process.kill(info.pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const start = liveStartTime(info.pid);
  if (start === undefined) return false; // gone, or a zombie: holds nothing
  return info.procStart === undefined || info.procStart === start;
}

/** unlink, tolerating a path already gone. */
function unlinkIf(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));
/** A short synchronous back-off while another process holds `lock.takeover` (microseconds of work). */
const backOff = (): void => void Atomics.wait(pause, 0, 0, 2);

/** Links a temp file holding `text` to `path`; false when `path` exists. */
function linkNew(path: string, text: string): boolean {
  const tmp = tempPathFor(path);
  io('create', path, () => writeFileSync(tmp, text));
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(e, 'create', path);
  } finally {
    unlinkIf(tmp);
  }
}

/** Temp files left by contenders killed between write and unlink. */
function sweepTemps(stateDir: string): void {
  for (const f of readdirSync(stateDir)) {
    const m = /^lock(?:\.takeover)?\.(\d+)\.[0-9a-f]+\.(?:tmp|old)$/.exec(f);
    if (m && liveStartTime(Number(m[1])) === undefined) {
      try {
        unlinkSync(join(stateDir, f));
      } catch {
        /* another contender swept it */
      }
    }
  }
}

/** Removes `path` if it still holds `staleText`, under the takeover guard. Returns after one try. */
function takeOver(path: string, staleText: string, me: LockInfo): void {
  const guard = `${path}.takeover`;
  const guardText = JSON.stringify(me);
  if (!linkNew(guard, guardText)) {
    const g = readRaw(guard);
    if (g.kind === 'ok' && !holderAlive(g.info)) {
      // Its holder died inside the takeover (a few syscalls long): move it aside, check it was that one.
      const aside = `${guard}.${process.pid}.${me.token!}.old`;
      try {
        renameSync(guard, aside);
      } catch {
        return;
      }
      const moved = readRaw(aside);
      if (!(moved.kind === 'ok' && moved.text === g.text)) {
        try {
          linkSync(aside, guard); // a live contender's guard: put it back
        } catch {
          /* taken meanwhile */
        }
      }
      unlinkIf(aside);
      return;
    }
    if (g.kind === 'bad') throw new PharosError(`${guard} exists but ${g.why}`, { hint: `if no pharos runs here, remove ${guard}`, exitCode: 75 });
    backOff();
    return;
  }
  try {
    const cur = readRaw(path);
    if (cur.kind === 'ok' && cur.text === staleText) unlinkIf(path);
  } finally {
    unlinkIf(guard);
  }
}

export interface LockOptions {
  /**
   * For `pharos clean`, the explicit way out: an unreadable lock (which this
   * version never leaves: it links complete records) is removed and reported
   * here instead of stopping the command.
   */
  onUnreadable?: (why: string) => void;
}

/** Takes the lock or throws a PharosError naming the holder. Returns the release function. */
export function acquireLock(stateDir: string, command = process.argv.slice(2).join(' '), o: LockOptions = {}): () => void {
  io('create', stateDir, () => mkdirSync(stateDir, { recursive: true }));
  const path = join(stateDir, 'lock');
  const me: LockInfo = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command,
    procStart: liveStartTime(process.pid),
    token: randomBytes(8).toString('hex'),
  };
  const text = JSON.stringify(me);
  sweepTemps(stateDir);
  const deadline = Date.now() + 10_000;
  while (!linkNew(path, text)) {
    const cur = readRaw(path);
    if (cur.kind === 'bad' && o.onUnreadable) {
      io('remove', path, () => rmSync(path, { recursive: true, force: true }));
      o.onUnreadable(cur.why);
      continue;
    }
    if (cur.kind === 'bad') {
      throw new PharosError(`${path} exists but ${cur.why}; it is not treated as stale`, {
        hint: `another pharos run may be writing it; if none runs (ps -C node -f), remove ${path}`,
        exitCode: 75,
      });
    }
    if (cur.kind === 'ok') {
      const h = cur.info;
      if (h.host !== me.host) {
        throw new PharosError(`${path} is held by pid ${h.pid} on host ${h.host}`, { hint: `if no pharos runs there, remove ${path}`, exitCode: 75 });
      }
      // A lock of this very process (an engine that never released) is taken over, as before.
      const ours = h.pid === process.pid && (h.procStart === undefined || h.procStart === me.procStart);
      if (!ours && holderAlive(h)) {
        throw new PharosError(`another pharos run (pid ${h.pid}) holds ${path}`, {
          hint: `it started ${h.startedAt}${h.command ? ` as \`pharos ${h.command}\`` : ''}; wait for it or stop it (kill ${h.pid})`,
          exitCode: 75,
        });
      }
      takeOver(path, cur.text, me);
    }
    // 'none': the holder released between our link and our read; try again.
    if (Date.now() > deadline) throw new PharosError(`could not take ${path}`, { hint: 'other runs keep taking and releasing it; try again' });
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    const cur = readRaw(path);
    try {
      if (cur.kind === 'ok' && cur.info.token === me.token) unlinkIf(path);
    } catch {
      /* cannot remove it (read-only now?): the next run finds this holder gone and takes it over */
    }
  };
  // A forced exit (second Ctrl-C, process.exit) still releases; only kill -9 leaves a (stale) lock.
  process.on('exit', release);
  return release;
}
