/** Shared helpers for the engine tests: temp roots, polling, CLI processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const GRAPH_URL = new URL('../../../lib/index.ts', import.meta.url).href;

export function tempRoot(prefix = 'pharos-engine-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  // Without "type": "module" tsx would load pharos.build.ts as CommonJS.
  writeFileSync(join(d, 'package.json'), '{"type":"module"}\n');
  return d;
}

/**
 * Sets mtime an hour back: the file was last changed long before its stamp
 * is taken, so the stamp is not racy (lib/cache/racy.ts) and the stat fast
 * path trusts it. Tests that assert "nothing is read" age what they wrote.
 */
export function age(...paths: string[]): void {
  const t = new Date(Date.now() - 3600_000);
  for (const p of paths) utimesSync(p, t, t);
}

/** Polls `fn` until it returns a truthy value; the error names what was awaited. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function cli(root: string, args: string[], env: NodeJS.ProcessEnv = {}): Cli {
  const child = spawn(process.execPath, [join(REPO, 'bin/pharos.js'), '-C', root, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Alive and not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function readIf(p: string): string {
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

/** Records in a state dir (snapshot + journal), as the next run would see them. */
export function recordedNames(stateDir: string): Set<string> {
  const names = new Set<string>();
  try {
    const snap = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { records: Record<string, unknown> };
    for (const k of Object.keys(snap.records)) names.add(k);
  } catch {
    /* none */
  }
  for (const line of readIf(join(stateDir, 'journal.ndjson')).split('\n')) {
    if (!line) continue;
    try {
      const j = JSON.parse(line) as { t: string; name: string };
      if (j.t === 'rec') names.add(j.name);
      else names.delete(j.name);
    } catch {
      /* torn */
    }
  }
  return names;
}
