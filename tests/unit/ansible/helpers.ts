/**
 * Shared pieces of the Ansible tests: golden-file comparison (regenerate with
 * PHAROS_UPDATE_GOLDEN=1 and review the diff) and a check that the real
 * Ansible tools are installed, so a missing tool fails loudly instead of
 * letting the tests pass vacuously.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { exec } from '../../../lib/tools/exec.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const GOLDEN = join(REPO, 'tests', 'fixtures', 'golden', 'ansible');
export const UPDATE = process.env.PHAROS_UPDATE_GOLDEN === '1';

export function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (UPDATE) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
  }
  assert.ok(existsSync(file), `golden file ${file} is missing (create it with PHAROS_UPDATE_GOLDEN=1)`);
  assert.fixture(actual, readFileSync(file, 'utf8'), `${name} differs from its golden file`);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Every file under `actualDir` matches `GOLDEN/name/…`, and no golden file is missing. */
export function goldenTree(name: string, actualDir: string): void {
  const actual = listFiles(actualDir);
  assert.ok(actual.length > 0, `nothing was rendered into ${actualDir}`);
  for (const f of actual) golden(join(name, f), readFileSync(join(actualDir, f), 'utf8'));
  assert.equal(actual, listFiles(join(GOLDEN, name)), `the set of rendered files for ${name} differs from the golden set`);
}

export async function requireTool(cmd: string, pkg: string): Promise<void> {
  try {
    await exec(cmd, ['--version'], { pkg, timeoutMs: 60_000 });
  } catch (e) {
    throw new Error(`${cmd} is required for the Ansible tests (apt-get install ${pkg}): ${(e as Error).message}`);
  }
}
