/**
 * What `/proc/PID/stat` says about a process: state, process group and start
 * time (field 22, clock ticks since boot). A pid plus its start time names one
 * process for good: a recycled pid has a different start time.
 */
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** `R`, `S`, `Z` (zombie: exited, holds nothing), … */
  state: string;
  pgid: number;
  /** Field 22 as text (ticks since boot). */
  startTime: string;
}

/** `undefined` when there is no such process (or no /proc). */
export function procStat(pid: number): ProcStat | undefined {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: fields 3… follow the last ')'.
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const state = rest[0];
  const pgid = Number(rest[2]);
  const startTime = rest[19];
  if (!state || startTime === undefined || !Number.isInteger(pgid)) return undefined;
  return { state, pgid, startTime };
}

/** Start time of a live (non-zombie) process, `undefined` when it is gone. */
export function liveStartTime(pid: number): string | undefined {
  const st = procStat(pid);
  return st && st.state !== 'Z' ? st.startTime : undefined;
}

/** The command line of a process (NUL-separated args joined by spaces), '' when unreadable. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}
