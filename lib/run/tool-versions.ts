/**
 * Tool versions: the first line a target's tool prints for its version
 * arguments (default `--version`), part of the target's key. A version is
 * recorded in the state with the tool's stamp (size, mtime, inode), so an
 * unchanged binary is not run again; within one process each (path, args) is
 * asked once, shared by every engine of the process.
 */
import { statSync } from 'node:fs';
import { PharosError } from '../errors.js';
import { findOnPath } from '../util/which.js';
import { exec } from '../tools/exec.js';
import { toolName, type ToolSpec } from '../graph/target.js';
import type { StateStore } from '../cache/state.js';

const memo = new Map<string, Promise<string>>();

/** The version line of tool `t` of target `who`; a tool not on PATH is a PharosError (exit 127). */
export function toolVersion(t: ToolSpec, who: string, env: NodeJS.ProcessEnv, store: () => StateStore): Promise<string> {
  const name = toolName(t);
  const args = typeof t === 'string' ? ['--version'] : (t.args ?? ['--version']);
  const path = findOnPath(name, env);
  if (!path) {
    return Promise.reject(new PharosError(`${name}: command not found (a tool of ${who})`, { hint: `install ${name} or put it on PATH`, exitCode: 127 }));
  }
  const memoKey = `${path}\0${args.join('\0')}`;
  let p = memo.get(memoKey);
  if (p) return p;
  const st = store();
  const stamp = statSync(path, { bigint: true });
  const stampStr = `${stamp.size}:${stamp.mtimeNs}:${stamp.ino}`;
  const known = st.tools.get(memoKey);
  if (known && known[0] === stampStr) p = Promise.resolve(known[1]);
  else
    p = exec(path, args, { okCodes: [0, 1, 2] }).then((r) => {
      const line = (r.stdout.trim() || r.stderr.trim()).split('\n')[0]?.trim() ?? '';
      st.tools.set(memoKey, [stampStr, line]);
      st.markDirty();
      return line;
    });
  memo.set(memoKey, p);
  p.catch(() => memo.delete(memoKey));
  return p;
}
