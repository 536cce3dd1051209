/**
 * Suite discovery. A suite is a directory `tests/suites/<suite>/` of bash
 * scripts `check-*.sh`, run in file-name order (number them: `check-10-…`).
 * Each script declares how it runs in its leading comment block:
 *
 *   # @description slurmctld answers scontrol ping
 *   # @nodes controller            (controller | compute | all | each-compute)
 *   # @cluster cloud               (hpc | cloud: the kind of cluster it checks; default hpc)
 *   # @deploys cloud-node          (the deploy roles the suite waits for; default: every
 *                                    deploy role of its cluster; a suite gets the union)
 *   # @timeout 120                 (seconds; `90s`, `5m` also accepted)
 *   # @file examples/mpi/allreduce.py  (a repository file the check needs;
 *                                     on the node in $PHAROS_CHECK_FILES/)
 *
 * Keeping the metadata in the script itself means one file per check and no
 * second file to fall out of step. `tests/suites/lib.sh`, when present, is
 * prepended to every check (helpers such as `skip`, `fail`, `wait_for`).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PharosError, type ErrorDetail } from '../errors.js';
import type { ClusterKind } from '../model.js';

export type NodeSelector = 'controller' | 'compute' | 'all' | 'each-compute';
export const NODE_SELECTORS: readonly NodeSelector[] = ['controller', 'compute', 'all', 'each-compute'];

export const DEFAULT_TIMEOUT_S = 120;
/** Exit status a check uses to say "skipped"; its last output line is the reason. */
export const SKIP_EXIT = 77;

export interface CheckDef {
  /** `cluster-network` for `check-20-cluster-network.sh`. */
  name: string;
  file: string;
  description: string;
  nodes: NodeSelector;
  /** The kind of cluster it checks (`# @cluster hpc|cloud`; default hpc). */
  cluster: ClusterKind;
  /** The deploy roles it waits for (`# @deploys ROLE ...`); absent: every deploy role of its cluster. */
  deploys?: string[];
  timeoutS: number;
  script: string;
  /** Repository files the check needs on its node (`# @file PATH`): the runner
   *  writes them into the directory named by `$PHAROS_CHECK_FILES`. */
  companions: CompanionFile[];
}

export interface CompanionFile {
  /** Path relative to the repository root, as written in the header. */
  path: string;
  /** Absolute path on this host. */
  file: string;
  /** Base name on the node (unique within the check). */
  name: string;
}

/** The most a companion file may hold (it travels inside the check's script). */
export const MAX_COMPANION_BYTES = 256 * 1024;
const COMPANION_RE = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/-]+$/;

export interface SuiteDef {
  name: string;
  dir: string;
  checks: CheckDef[];
  /** Content prepended to every check (the shared `lib.sh`), '' if none. */
  prelude: string;
  /** Every file whose content shapes this suite (for the test target's cache key). */
  files: string[];
  /** The kind of cluster its checks run on (every check of a suite says the same). */
  cluster: ClusterKind;
  /** The deploy roles it waits for (the union of its checks' `@deploys`); absent: every deploy role of its cluster. */
  deploys?: string[];
}

export function checkName(file: string): string {
  return file.replace(/^check-/, '').replace(/\.sh$/, '').replace(/^\d+-/, '');
}

function parseTimeout(v: string): number | undefined {
  const m = /^(\d+)\s*(s|m)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'm' ? n * 60 : n;
}

/** Parse a check script's header; throws a PharosError naming file:line. */
export function parseCheck(file: string, fileName: string, script: string): CheckDef {
  const def: CheckDef = {
    name: checkName(fileName),
    file,
    description: '',
    nodes: 'controller',
    cluster: 'hpc',
    timeoutS: DEFAULT_TIMEOUT_S,
    script,
    companions: [],
  };
  const errors: ErrorDetail[] = [];
  let sawNodes = false;
  const lines = script.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    if (!line.startsWith('#')) break; // header ends at the first command
    const m = /^#\s*@(\w[\w-]*)\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1] ?? '';
    const value = (m[2] ?? '').trim();
    const at = { file, line: i + 1, column: 1 };
    if (key === 'description') def.description = value;
    else if (key === 'nodes') {
      if ((NODE_SELECTORS as readonly string[]).includes(value)) {
        def.nodes = value as NodeSelector;
        sawNodes = true;
      } else errors.push({ ...at, field: '@nodes', message: `unknown node selector "${value}"`, expected: NODE_SELECTORS.join(' | ') });
    } else if (key === 'cluster') {
      if (value === 'hpc' || value === 'cloud') def.cluster = value;
      else errors.push({ ...at, field: '@cluster', message: `unknown cluster kind "${value}"`, expected: 'hpc | cloud' });
    } else if (key === 'deploys') {
      const roles = value.split(/[\s,]+/).filter(Boolean);
      if (roles.length && roles.every((r) => /^[a-z0-9][a-z0-9-]*$/.test(r))) def.deploys = [...new Set([...(def.deploys ?? []), ...roles])];
      else errors.push({ ...at, field: '@deploys', message: `bad deploy role list "${value}"`, expected: 'role names (e.g. cloud-node), separated by spaces or commas' });
    } else if (key === 'timeout') {
      const t = parseTimeout(value);
      if (t === undefined || t <= 0) errors.push({ ...at, field: '@timeout', message: `bad timeout "${value}"`, expected: 'seconds, e.g. 120, 90s or 5m' });
      else def.timeoutS = t;
    } else if (key === 'file') {
      const name = value.split('/').pop() ?? '';
      if (!COMPANION_RE.test(value)) errors.push({ ...at, field: '@file', message: `bad companion file "${value}"`, expected: 'a path inside the repository, relative to its root (letters, digits, . _ - /; no .. parts)' });
      else if (def.companions.some((c) => c.name === name)) errors.push({ ...at, field: '@file', message: `a second companion file named "${name}"`, expected: 'companion files with distinct base names' });
      else def.companions.push({ path: value, file: value, name });
    } else errors.push({ ...at, field: `@${key}`, message: `unknown header key @${key}`, expected: '@description, @nodes, @cluster, @deploys, @timeout, @file' });
  }
  if (!sawNodes && errors.length === 0) {
    errors.push({ file, line: 1, field: '@nodes', message: 'missing "# @nodes <selector>" header', expected: NODE_SELECTORS.join(' | ') });
  }
  if (errors.length) throw new PharosError(`invalid check header in ${file}`, { problems: errors });
  return def;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** A check's `@file`, checked to be a regular file of the repository (`repo`:
 *  tests/suites/../..) small enough to travel with the check. */
async function companionFile(repo: string, check: string, rel: string): Promise<string> {
  const file = join(repo, rel);
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw new PharosError(`${check}: @file ${rel}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { hint: `a path relative to the repository root (${repo})` });
  }
  if (size > MAX_COMPANION_BYTES) throw new PharosError(`${check}: @file ${rel} is ${size} bytes`, { hint: `companion files travel inside the check's script: at most ${MAX_COMPANION_BYTES} bytes` });
  return file;
}

/** Load one suite directory. */
export async function loadSuite(root: string, name: string): Promise<SuiteDef> {
  const dir = join(root, name);
  if (!(await isDir(dir))) {
    const known = await suiteNames(root);
    throw new PharosError(`unknown test suite "${name}"`, {
      hint: known.length ? `suites in ${root}: ${known.join(', ')}` : `no suites found under ${root}`,
    });
  }
  const files = (await readdir(dir)).filter((f) => /^check-.*\.sh$/.test(f)).sort();
  const checks: CheckDef[] = [];
  const repo = resolve(root, '..', '..');
  for (const f of files) {
    const file = join(dir, f);
    const check = parseCheck(file, f, await readFile(file, 'utf8'));
    for (const c of check.companions) c.file = await companionFile(repo, file, c.path);
    checks.push(check);
  }
  const seen = new Map<string, string>();
  for (const c of checks) {
    const prev = seen.get(c.name);
    if (prev) throw new PharosError(`two checks named "${c.name}" in suite ${name}: ${prev} and ${c.file}`);
    seen.set(c.name, c.file);
  }
  const kinds = [...new Set(checks.map((c) => c.cluster))];
  if (kinds.length > 1) {
    const odd = checks.filter((c) => c.cluster !== checks[0]?.cluster).map((c) => c.file);
    throw new PharosError(`suite ${name} mixes cluster kinds (${kinds.join(', ')})`, { hint: `give every check of the suite the same "# @cluster" header: ${odd.join(', ')}` });
  }
  let prelude = '';
  const libFile = join(root, 'lib.sh');
  const inputs = [...checks.map((c) => c.file), ...new Set(checks.flatMap((c) => c.companions.map((x) => x.file)))];
  try {
    prelude = await readFile(libFile, 'utf8');
    inputs.unshift(libFile);
  } catch {
    /* no shared helpers */
  }
  const named = checks.flatMap((c) => c.deploys ?? []);
  return { name, dir, checks, prelude, files: inputs, cluster: kinds[0] ?? 'hpc', ...(named.length ? { deploys: [...new Set(named)] } : {}) };
}

/** Names of the suites under `root` (directories holding at least one check), sorted. */
export async function suiteNames(root: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (e) {
    throw new PharosError(`cannot read suites directory ${root}: ${(e as Error).message}`);
  }
  const out: string[] = [];
  for (const name of entries.sort()) {
    const dir = join(root, name);
    if (!(await isDir(dir))) continue;
    if ((await readdir(dir)).some((f) => /^check-.*\.sh$/.test(f))) out.push(name);
  }
  return out;
}

/** Every suite under `root`, loaded, by name. */
export async function listSuites(root: string): Promise<SuiteDef[]> {
  const out: SuiteDef[] = [];
  for (const name of await suiteNames(root)) out.push(await loadSuite(root, name));
  return out;
}
