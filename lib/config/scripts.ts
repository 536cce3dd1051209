/**
 * The user's own Slurm prolog and epilog scripts (`slurm_config.prolog`,
 * `.epilog`): read once, when the plan is made, so their content is part of
 * the plan, of the inventory made from it, and so of every deploy's key (a
 * changed script re-runs the deploy that installs it). Each must be a regular
 * file of at most 64 KiB, UTF-8 text with no NUL, starting with `#!`; anything
 * else is one PharosError naming the config field and the file.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { PharosError } from '../errors.js';
import type { SlurmScriptPlan } from '../model.js';
import { fieldPath, type Locator, type Path } from './rules.js';

export const MAX_SCRIPT_BYTES = 64 * 1024;

/** `50-user-NN-<basename>`: after Pharos's own scripts in the role's directory,
 *  in config order, with only `[a-z0-9._-]` in the name. */
export function scriptName(index: number, path: string): string {
  const base = basename(path).toLowerCase().replace(/[^a-z0-9._-]+/g, '-') || 'script';
  return `50-user-${String(index + 1).padStart(2, '0')}-${base}`;
}

interface Where {
  configPath: string;
  field: Path;
  locate?: Locator | undefined;
}

function refuse(w: Where, path: string, message: string, hint: string): never {
  // Worded like the loader's report (load.ts), which this check extends to the files the config names.
  throw new PharosError(`${w.configPath}: 1 problem in the cluster config`, {
    problems: [
      { file: w.configPath, ...w.locate?.(w.field), field: fieldPath(w.field), message: `${path}: ${message}`, expected: 'a regular file of at most 64 KiB, UTF-8 text starting with #!', hint },
    ],
    exitCode: 2,
  });
}

/** Reads the scripts of `field` (e.g. `['clusters', 'hpc', 'slurm_config', 'prolog']`),
 *  relative paths against `configDir`; `locate` gives a problem its line. */
export function readUserScripts(paths: readonly string[] | undefined, field: Path, configPath: string, configDir: string, locate?: Locator): SlurmScriptPlan[] {
  return (paths ?? []).map((given, i) => {
    const f: Where = { configPath, field: [...field, i], locate };
    const path = resolve(configDir, given);
    let size: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) refuse(f, path, st.isDirectory() ? 'is a directory' : 'is not a regular file', 'name the script file itself');
      size = st.size;
    } catch (e) {
      if (e instanceof PharosError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      refuse(f, path, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(e)})`, `a relative path is read from the config file's directory (${configDir})`);
    }
    if (size > MAX_SCRIPT_BYTES) refuse(f, path, `is ${size} bytes, more than 64 KiB`, 'a prolog runs before every job: keep it short, and let it call a program on shared storage');
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (e) {
      refuse(f, path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check its permissions');
    }
    if (buf.length > MAX_SCRIPT_BYTES) refuse(f, path, `is ${buf.length} bytes, more than 64 KiB`, 'keep it short');
    let content: string;
    try {
      content = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      refuse(f, path, 'is not UTF-8 text', 'a prolog or epilog is a script, not a binary');
    }
    if (content.includes('\0')) refuse(f, path, 'holds a NUL byte: not a text file', 'a prolog or epilog is a script, not a binary');
    if (!content.startsWith('#!')) refuse(f, path, 'does not start with #!', 'begin it with an interpreter line, e.g. #!/bin/sh');
    return { name: scriptName(i, path), path, content };
  });
}
