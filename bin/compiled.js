// Is dist/ (the engine compiled ahead by scripts/compile.mjs) the code of this
// checkout? Yes only when dist/manifest.json lists exactly the .ts files now in
// lib/ and tasks/ plus pharos.build.ts and tsconfig.json, each with the size and
// mtime it had when compiled, for this Node version and this checkout's path.
// An edited, added or removed source, another Node, a moved checkout: stale, and
// the bin runs the source through tsx. Stats only (about 200 files), no reads.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const MANIFEST = 'manifest.json';
const DIRS = ['lib', 'tasks'];
const FILES = ['pharos.build.ts', 'tsconfig.json'];

function walk(root, rel, files) {
  let entries;
  try {
    entries = readdirSync(join(root, rel), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) walk(root, r, files);
    else if (e.name.endsWith('.ts')) stamp(root, r, files);
  }
}

function stamp(root, rel, files) {
  try {
    const s = statSync(join(root, rel));
    files[rel] = [s.size, s.mtimeMs];
  } catch {
    /* absent: not listed */
  }
}

/** What the compiled output depends on, as it is now. */
export function snapshot(root) {
  const files = {};
  for (const f of FILES) stamp(root, f, files);
  for (const d of DIRS) walk(root, d, files);
  return { node: process.versions.node, root, files };
}

/** Whether `root/dist` holds the compiled form of `root` as it is now. */
export function compiledFresh(root) {
  let m;
  try {
    m = JSON.parse(readFileSync(join(root, 'dist', MANIFEST), 'utf8'));
  } catch {
    return false;
  }
  if (!m || m.node !== process.versions.node || m.root !== root || typeof m.files !== 'object' || m.files === null) return false;
  const now = snapshot(root).files;
  const names = Object.keys(now);
  if (names.length !== Object.keys(m.files).length) return false;
  for (const n of names) {
    const was = m.files[n];
    if (!Array.isArray(was) || was[0] !== now[n][0] || was[1] !== now[n][1]) return false;
  }
  return true;
}
