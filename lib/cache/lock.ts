/**
 * `.pharos/lock`: one build at a time per project. The file holds the holder's
 * pid; a lock whose pid is dead (crash, kill -9) is stale and taken over.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PharosError } from '../errors.js';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped) still answers kill(0); it holds nothing.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

export function readLock(stateDir: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'lock'), 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

/** Takes the lock or throws a PharosError naming the holder. Returns the release function. */
export function acquireLock(stateDir: string, command = process.argv.slice(2).join(' ')): () => void {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, 'lock');
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readLock(stateDir);
      if (holder && holder.host === info.host && holder.pid !== process.pid && alive(holder.pid)) {
        throw new PharosError(`another pharos run (pid ${holder.pid}) holds ${path}`, {
          hint: `it started ${holder.startedAt}${holder.command ? ` as \`pharos ${holder.command}\`` : ''}; wait for it or stop it (kill ${holder.pid})`,
          exitCode: 75,
        });
      }
      if (holder && holder.host !== info.host) {
        throw new PharosError(`${path} is held by pid ${holder.pid} on host ${holder.host}`, {
          hint: `if no pharos runs there, remove ${path}`,
          exitCode: 75,
        });
      }
      // Dead holder or unreadable (half-written) lock: stale, remove and retry.
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, JSON.stringify(info));
    closeSync(fd);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const cur = readLock(stateDir);
      if (!cur || cur.pid === process.pid) rmSync(path, { force: true });
    };
  }
  throw new PharosError(`could not take ${path}`, { hint: 'another run keeps recreating it' });
}
