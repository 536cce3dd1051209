/**
 * Finding a program on PATH without a shell, as `execvp` would: a name with a
 * slash is taken as a path; otherwise the first PATH entry holding a regular
 * file with an execute bit wins (empty entries and unreadable ones are skipped).
 */
import { statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';

function statOf(p: string): Stats | undefined {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined; // EACCES, ELOOP: not usable
  }
}

export function findOnPath(cmd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (cmd.includes('/')) return statOf(cmd) ? resolve(cmd) : undefined;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = join(dir, cmd);
    const st = statOf(p);
    if (st && st.isFile() && st.mode & 0o111) return p;
  }
  return undefined;
}

/** Whether a program is on this process's PATH: its path, or undefined. */
export async function which(cmd: string): Promise<string | undefined> {
  return findOnPath(cmd);
}
