/**
 * Inputs: the files a target's `inputs` patterns name. A literal path is
 * taken as is (no stat here: the check stats it anyway, and walks it if it is
 * a directory); a glob goes through globby. `.pharos`, `node_modules` and
 * `.git` are never walked or globbed into. `!pattern` entries exclude what
 * they match from the other patterns' files (globby semantics across the
 * whole list, not per pattern).
 */
import { readdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { DIRECTORY, MISSING, stampOnly } from '../cache/hash.js';
import type { RacyCheck } from '../cache/racy.js';
import { IGNORED_GLOBS, isIgnoredDir } from '../util/ignored.js';

const GLOB_IGNORE = [...IGNORED_GLOBS];
const GLOB_SYNTAX = /[*?[\]{}!]/;

/** Whether an input pattern is a glob (otherwise it is a literal path). */
export function isGlob(pattern: string): boolean {
  return GLOB_SYNTAX.test(pattern);
}

/**
 * True for a relative path without glob syntax, `.`/`..` segments, doubled or
 * trailing slashes: `${root}/${p}` is then already the resolved path and `p`
 * its name relative to the root. One pass over the characters (100,000 inputs).
 */
export function plainPath(p: string): boolean {
  const n = p.length;
  if (n === 0) return false;
  let segStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? p.charCodeAt(i) : 47;
    if (c === 47) {
      // '/': the segment [segStart, i) must be non-empty and not '.' or '..'.
      const len = i - segStart;
      if (len === 0) return false;
      if (p.charCodeAt(segStart) === 46 && (len === 1 || (len === 2 && p.charCodeAt(segStart + 1) === 46))) return false;
      segStart = i + 1;
    } else if (c === 42 || c === 63 || c === 91 || c === 93 || c === 123 || c === 125 || c === 33 || c === 92) return false; // * ? [ ] { } ! \
  }
  return true;
}

/** Every file under `dir` (depth first, in directory order), skipping the ignored directories (lib/util/ignored.ts). */
export function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (isIgnoredDir(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
}

/** The input files of one target: absolute and root-relative names (parallel arrays: no object per file). */
export interface InputFiles {
  abs: string[];
  rel: string[];
  /** One `rel\0stamp` line per file: the inputs' part of the stamp fingerprint. */
  text: string;
}

/** Pattern expansion for one project root, with what it learnt cached for the process. */
export class Inputs {
  private readonly patterns = new Map<string, string[] | Promise<string[]>>();
  private readonly rels = new Map<string, string>();

  constructor(readonly root: string) {}

  /** Forgets glob results (a new build may see new files). */
  forgetGlobs(): void {
    this.patterns.clear();
  }

  /** Absolute files a pattern names; literal paths avoid globbing entirely. */
  expand(pattern: string): string[] | Promise<string[]> {
    const hit = this.patterns.get(pattern);
    if (hit) return hit;
    const root = this.root;
    let v: string[] | Promise<string[]>;
    if (!isGlob(pattern)) {
      // No stat here: digestFile stats anyway and reports a directory, which is then walked.
      // A plain relative path (the common case) joins by concatenation: path.resolve is slow at 100,000 inputs.
      const plain = !pattern.startsWith('/') && !/(^|\/)\.\.?(\/|$)|\/\/|\/$/.test(pattern);
      const abs = plain ? `${root}/${pattern}` : resolve(root, pattern);
      if (plain) this.rels.set(abs, pattern);
      v = [abs];
    } else {
      v = import('globby').then(async ({ globby }) =>
        (await globby(pattern, { cwd: root, dot: true, absolute: true, onlyFiles: true, ignore: GLOB_IGNORE })).sort(),
      );
      v.then(
        (r) => this.patterns.set(pattern, r),
        () => this.patterns.delete(pattern),
      );
    }
    this.patterns.set(pattern, v);
    return v;
  }

  /** `abs` relative to the root, `/`-separated (or `abs` itself when outside it). */
  relName(abs: string): string {
    const r = relative(this.root, abs);
    return r.startsWith('..') || isAbsolute(r) ? abs : r.split('\\').join('/');
  }

  /**
   * The files of a pattern list, each stamped through `rc` (directories are
   * walked, their files sorted). Missing files are kept: their stamp is MISSING.
   */
  async collect(patterns: readonly string[], rc: RacyCheck): Promise<InputFiles> {
    const root = this.root;
    const abs: string[] = [];
    const rel: string[] = [];
    let text = '';
    const negated = patterns.filter((p) => p.startsWith('!'));
    let excluded: Set<string> | undefined;
    if (negated.length) {
      excluded = new Set<string>();
      for (const neg of negated) {
        let hits = this.expand(neg.slice(1));
        if (!Array.isArray(hits)) hits = await hits;
        for (const h of hits) excluded.add(h);
      }
    }
    for (const pat of patterns) {
      if (pat.startsWith('!')) continue;
      if (plainPath(pat)) {
        // The common case (a plain relative file path): no maps, no globbing, no path.resolve.
        const a = `${root}/${pat}`;
        if (excluded?.has(a)) continue;
        const st = rc.see(stampOnly(a));
        if (st !== DIRECTORY) {
          abs.push(a);
          rel.push(pat);
          text += `${pat}\0${st ?? MISSING}\n`;
          continue;
        }
      }
      let found = this.expand(pat);
      if (!Array.isArray(found)) found = await found;
      for (const f of found) {
        if (excluded?.has(f)) continue;
        const st = rc.see(stampOnly(f));
        if (st === DIRECTORY) {
          const under: string[] = [];
          walk(f, under);
          for (const u of under.sort()) {
            const r = this.relName(u);
            abs.push(u);
            rel.push(r);
            text += `${r}\0${rc.see(stampOnly(u)) ?? MISSING}\n`;
          }
          continue;
        }
        let r = this.rels.get(f);
        if (r === undefined) this.rels.set(f, (r = this.relName(f)));
        abs.push(f);
        rel.push(r);
        text += `${r}\0${st ?? MISSING}\n`;
      }
    }
    return { abs, rel, text };
  }

  /** Adds to `out` what to watch for a pattern list: literal paths, each glob's static prefix (new files appear there) and what it matches now. */
  async watchPaths(patterns: readonly string[], out: Set<string>): Promise<void> {
    const root = this.root;
    for (const pat of patterns) {
      if (pat.startsWith('!')) continue;
      if (!isGlob(pat)) {
        out.add(resolve(root, pat));
        continue;
      }
      const base = pat.split('/').filter((_, i, a) => !isGlob(a.slice(0, i + 1).join('/')));
      out.add(resolve(root, base.join('/') || '.'));
      const files = await this.expand(pat);
      for (const f of files) out.add(f);
    }
  }
}
