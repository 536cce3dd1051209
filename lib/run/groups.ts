/**
 * `.pharos/pids`: the process groups a build has running (every child that
 * `lib/tools/exec.ts` starts leads its own group). Rewritten atomically at
 * each start (with only the groups still running then) in place: one
 * write at offset 0 of a file kept open, padded with spaces to the longest
 * content so far (JSON ignores them), so a reader never sees a shorter,
 * torn text and no start pays a rename. An exit does not rewrite it (a group
 * that ended is harmless on record: see below); removed when the build ends. A pharos killed with
 * -9 cannot stop its children; the next build (under the lock) reads this
 * file and ends what is left: a process counts as that run's only if it is
 * in a recorded group and either carries the run's `PHAROS_RUN` mark in its
 * environment or is the group leader with the recorded start time (a
 * recycled pid is never taken for it). SIGTERM first, SIGKILL after a grace
 * period.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_ENV, observeChildren, type ChildObserver } from '../tools/exec.js';
import { liveStartTime, procStat } from '../tools/proc.js';

interface Group {
  pgid: number;
  /** `/proc/PID/stat` field 22 of the leader. */
  start: string;
  cmd: string;
}

interface PidsFile {
  version: 1;
  run: string;
  pid: number;
  procStart: string | null;
  groups: Group[];
}

export const PIDS_FILE = 'pids';

/** Records this process's children while a build runs. */
export class GroupLedger implements ChildObserver {
  readonly run = randomBytes(8).toString('hex');
  private readonly groups = new Map<number, Group>();
  private readonly path: string;
  private readonly stop: () => void;
  private readonly procStart = liveStartTime(process.pid) ?? null;
  private fd: number | undefined;
  /** Bytes the file holds (the longest content written). */
  private size = 0;

  constructor(stateDir: string) {
    this.path = join(stateDir, PIDS_FILE);
    this.stop = observeChildren(this);
  }

  spawned(pid: number, cmd: string): void {
    this.groups.set(pid, { pgid: pid, start: liveStartTime(pid) ?? '', cmd: cmd.slice(0, 200) });
    this.write();
  }

  /**
   * Not rewritten: the record still names the group until the next start or
   * the end. A group on record that has ended is harmless to the next run:
   * its pgid taken again by another process group is not this run's (that
   * leader's start time differs, its processes lack this run's mark).
   */
  exited(pid: number): void {
    this.groups.delete(pid);
  }

  /** Best effort: a state directory that cannot be written fails the build elsewhere, with a clear message. */
  private write(): void {
    try {
      if (this.groups.size === 0) {
        if (this.fd !== undefined) closeSync(this.fd);
        this.fd = undefined;
        this.size = 0;
        rmSync(this.path, { force: true });
        return;
      }
      const f: PidsFile = { version: 1, run: this.run, pid: process.pid, procStart: this.procStart, groups: [...this.groups.values()] };
      const text = JSON.stringify(f);
      const len = Math.max(this.size, Buffer.byteLength(text));
      const buf = Buffer.alloc(len, ' ');
      buf.write(text);
      this.fd ??= openSync(this.path, 'w');
      writeSync(this.fd, buf, 0, len, 0);
      this.size = len;
    } catch {
      /* see above */
    }
  }

  close(): void {
    this.stop();
    this.groups.clear();
    this.write();
  }
}

interface Proc {
  pid: number;
  start: string;
  pgid: number;
}

function signal(p: Proc, sig: NodeJS.Signals): void {
  try {
    if (liveStartTime(p.pid) === p.start) process.kill(p.pid, sig);
  } catch {
    /* exited meanwhile */
  }
}

function environHas(pid: number, mark: string): boolean {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env.some((e) => e.startsWith(`${RUN_ENV}=`) && e.slice(RUN_ENV.length + 1).split(',').includes(mark));
  } catch {
    return false;
  }
}

/** Live processes of the recorded groups that belong to the recorded run. */
function survivors(f: PidsFile): Proc[] {
  const byPgid = new Map(f.groups.map((g) => [g.pgid, g]));
  const out: Proc[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    const st = procStat(pid);
    if (!st || st.state === 'Z') continue;
    const g = byPgid.get(st.pgid);
    if (!g) continue;
    const leader = pid === g.pgid && st.startTime === g.start;
    if (leader || environHas(pid, f.run)) out.push({ pid, start: st.startTime, pgid: st.pgid });
  }
  return out;
}

async function waitGone(procs: Proc[], ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (procs.every((p) => liveStartTime(p.pid) !== p.start)) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function parse(text: string): PidsFile | undefined {
  try {
    const f = JSON.parse(text) as PidsFile;
    const ok = f && f.version === 1 && typeof f.run === 'string' && Number.isInteger(f.pid) && Array.isArray(f.groups);
    return ok && f.groups.every((g) => g && Number.isInteger(g.pgid) && g.pgid > 1 && typeof g.start === 'string') ? f : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ends the process groups a crashed run left (see the file comment). Returns
 * a line for the user when it did something, `undefined` otherwise. Call it
 * holding the lock.
 */
export async function endLeftovers(stateDir: string, graceMs = 3000): Promise<string | undefined> {
  const path = join(stateDir, PIDS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // none (or unreadable: nothing to act on safely)
  }
  const f = parse(text);
  const drop = (): void => rmSync(path, { force: true, recursive: true });
  if (!f) {
    drop();
    return `ignored ${path}: not a record of process groups (removed)`;
  }
  // That run still runs (this very process included: its children are its own to stop).
  if (f.procStart !== null && liveStartTime(f.pid) === f.procStart) return undefined;
  const procs = survivors(f);
  if (!procs.length) {
    drop();
    return undefined;
  }
  for (const p of procs) signal(p, 'SIGTERM');
  let how = 'SIGTERM';
  if (!(await waitGone(procs, graceMs))) {
    for (const p of procs) signal(p, 'SIGKILL');
    how = 'SIGTERM, then SIGKILL';
    await waitGone(procs, 2000);
  }
  drop();
  const cmds = f.groups.filter((g) => procs.some((p) => p.pgid === g.pgid)).map((g) => g.cmd);
  return `ended ${procs.length} process${procs.length === 1 ? '' : 'es'} left running by an earlier pharos run (pid ${f.pid}, gone) with ${how}${cmds.length ? `: ${cmds.slice(0, 3).join('; ')}` : ''}`;
}
