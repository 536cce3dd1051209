/**
 * Container image recipes: `containers/<name>/` holds `packages.txt` (one
 * Debian package per line, `#` comments) and `Containerfile`, a Dockerfile-like
 * recipe with declarative directives only:
 *
 *   FROM debian:<suite>        first line, required (the suite comes from the mirror)
 *   ENV KEY=VALUE              one pair per line; a value with spaces is a JSON string
 *   LABEL key=value            same value rules
 *   WORKDIR /abs/path
 *   USER uid[:gid]             numeric
 *   CMD ["json", "array"]      exec form only
 *   ENTRYPOINT ["json", ...]
 *   COPY <file in the recipe directory> </abs/dest>   (dest ending in / keeps the name)
 *
 * There is no RUN (nor ADD, ARG, SHELL…): nothing a recipe says is executed on
 * the host or in the image at build time. The rootfs is mmdebstrap's work from
 * the mirror alone; COPY files become a second layer owned by root.
 */
import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { PharosError, type ErrorDetail } from '../errors.js';

export const CONTAINER_NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;
/** Debian Policy 5.6.7: lower case letters, digits, `+ - .`; two or more characters, alphanumeric first. */
export const DEBIAN_PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const SUITE_RE = /^[a-z]+$/;
const USER_RE = /^(\d{1,10})(?::(\d{1,10}))?$/;
const MAX_ID = 2 ** 32 - 2;

export interface CopyFile {
  /** Path relative to the recipe directory, as written. */
  source: string;
  /** Absolute path inside the image. */
  dest: string;
  line: number;
  /** Column of the source operand. */
  column: number;
}

export interface ContainerRecipe {
  name: string;
  /** Absolute path of `containers/<name>/`. */
  dir: string;
  suite: string;
  packages: string[];
  /** In recipe order; the build adds a default PATH when the recipe sets none. */
  env: Array<[string, string]>;
  labels: Array<[string, string]>;
  workdir?: string;
  user?: string;
  cmd?: string[];
  entrypoint?: string[];
  copies: CopyFile[];
}

export type ParsedContainerfile = Omit<ContainerRecipe, 'name' | 'dir' | 'packages'>;

const SUPPORTED = 'FROM, ENV, LABEL, WORKDIR, USER, CMD, ENTRYPOINT, COPY';

const REFUSED: Record<string, { message: string; hint: string }> = {
  RUN: {
    message: 'RUN is not supported: nothing from a recipe is executed, on the host or in the image at build time',
    hint: 'add the Debian package to packages.txt, or COPY a file into the image; what RUN would do belongs in a package or in the job',
  },
  ADD: { message: 'ADD is not supported (no URLs, no archive extraction)', hint: 'COPY a file from the recipe directory' },
  ARG: { message: 'ARG is not supported: a recipe has no build arguments', hint: 'write the value where it is used' },
  SHELL: { message: 'SHELL is not supported: there is no shell form to run', hint: `supported: ${SUPPORTED}` },
};

class Problems {
  readonly list: ErrorDetail[] = [];
  constructor(private readonly file: string) {}
  add(line: number, column: number, field: string, message: string, expected?: string, hint?: string): void {
    this.list.push({ file: this.file, line, column, field, message, expected, hint });
  }
  throwIfAny(what: string): void {
    if (!this.list.length) return;
    const n = this.list.length;
    throw new PharosError(`${what}: ${n} problem${n === 1 ? '' : 's'}`, { problems: this.list, exitCode: 2 });
  }
}

const hasBreak = (s: string): boolean => /[\n\r\0]/.test(s);

/** `KEY=VALUE` where VALUE has no whitespace, or is one JSON string. */
function parsePair(arg: string): { key: string; value: string } | { error: string } {
  const eq = arg.indexOf('=');
  if (eq <= 0) return { error: 'not KEY=VALUE' };
  const key = arg.slice(0, eq);
  const raw = arg.slice(eq + 1);
  if (raw.startsWith('"')) {
    try {
      const v: unknown = JSON.parse(raw);
      if (typeof v !== 'string') return { error: 'the quoted value is not one JSON string' };
      return { key, value: v };
    } catch {
      return { error: 'the quoted value is not one JSON string (one pair per line)' };
    }
  }
  if (/\s/.test(raw)) return { error: 'an unquoted value with whitespace (one pair per line)' };
  return { key, value: raw };
}

function parseExecForm(arg: string): string[] | string {
  if (!arg.startsWith('[')) return 'the shell form';
  let v: unknown;
  try {
    v = JSON.parse(arg);
  } catch {
    return 'not a JSON array';
  }
  if (!Array.isArray(v) || v.length === 0) return 'an empty or non-array value';
  const out: string[] = [];
  for (const x of v) {
    if (typeof x !== 'string') return 'an element that is not a string';
    if (x === '') return 'an empty string element';
    if (x.includes('\0')) return 'a NUL character';
    out.push(x);
  }
  return out;
}

/** A normalised absolute path with no `..`, or why not. */
function absPathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'a relative path';
  if (hasBreak(p)) return 'a line break or NUL';
  if (p.split('/').some((s) => s === '..' || s === '.')) return 'a . or .. segment';
  if (p.length > 1 && p.endsWith('/')) return 'a trailing /';
  if (p.includes('//')) return 'an empty segment (//)';
  return undefined;
}

/** Parse a Containerfile's text. `file` names it in errors. */
export function parseContainerfile(text: string, file: string): ParsedContainerfile {
  const pr = new Problems(file);
  const out: ParsedContainerfile = { suite: '', env: [], labels: [], copies: [] };
  const seen = new Map<string, number>();
  const keysSeen = new Map<string, number>();
  let sawFrom = false;
  const lines = text.split('\n');
  lines.forEach((rawLine, i) => {
    const line = i + 1;
    const l = rawLine.replace(/\r$/, '');
    const trimmed = l.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const column = l.length - l.trimStart().length + 1;
    const m = /^(\S+)(?:\s+(.*))?$/.exec(trimmed);
    const word = (m?.[1] ?? '').toUpperCase();
    const arg = (m?.[2] ?? '').trim();
    const argCol = arg ? l.indexOf(arg, column - 1 + (m?.[1]?.length ?? 0)) + 1 : l.length + 1;
    if (trimmed.endsWith('\\')) {
      pr.add(line, l.length, word, 'a line continuation (\\ at the end of a line)', 'each directive on one line', 'write one ENV/LABEL/COPY per line');
      return;
    }
    const refused = REFUSED[word];
    if (refused) {
      pr.add(line, column, word, refused.message, `one of ${SUPPORTED}`, refused.hint);
      return;
    }
    if (!sawFrom && word !== 'FROM') {
      pr.add(line, column, word, `${word} before FROM`, 'FROM debian:<suite> as the first directive', 'start the Containerfile with e.g. FROM debian:bookworm');
      sawFrom = true; // one such problem is enough
    }
    const once = (): boolean => {
      const first = seen.get(word);
      if (first !== undefined) {
        pr.add(line, column, word, `${word} given twice (first on line ${first})`, `one ${word}`, 'keep the one you mean');
        return false;
      }
      seen.set(word, line);
      return true;
    };
    switch (word) {
      case 'FROM': {
        sawFrom = true;
        if (!once()) return;
        const fm = /^debian:([^\s]+)$/.exec(arg);
        if (!fm || !SUITE_RE.test(fm[1] ?? '')) {
          const slim = fm && /-slim$/.test(fm[1] ?? '');
          pr.add(line, argCol, 'FROM', `${JSON.stringify(arg)} is not a Debian suite`, 'debian:<suite> (e.g. debian:bookworm)',
            slim ? 'the rootfs is built from the Debian mirror, not pulled from Docker Hub: name the suite (debian:bookworm); it is minimal already' : 'images are built from the Debian mirror only: FROM debian:bookworm');
          return;
        }
        out.suite = fm[1] ?? '';
        return;
      }
      case 'ENV':
      case 'LABEL': {
        const kv = parsePair(arg);
        const keyRe = word === 'ENV' ? ENV_KEY_RE : LABEL_KEY_RE;
        const expected = word === 'ENV' ? 'ENV KEY=VALUE with KEY matching ^[A-Za-z_][A-Za-z0-9_]*$' : 'LABEL key=value (key like org.opencontainers.image.title)';
        if ('error' in kv) {
          pr.add(line, argCol, word, `${JSON.stringify(arg)}: ${kv.error}`, expected, 'quote a value with spaces as a JSON string: KEY="a b"');
          return;
        }
        if (!keyRe.test(kv.key)) {
          pr.add(line, argCol, `${word} ${kv.key}`, `${JSON.stringify(kv.key)} is not a valid key`, expected);
          return;
        }
        if (hasBreak(kv.value)) {
          pr.add(line, argCol + kv.key.length + 1, `${word} ${kv.key}`, 'the value has a line break or NUL', 'a value on one line');
          return;
        }
        const dupKey = `${word} ${kv.key}`;
        const first = keysSeen.get(dupKey);
        if (first !== undefined) {
          pr.add(line, argCol, dupKey, `${kv.key} set twice (first on line ${first})`, 'each key once');
          return;
        }
        keysSeen.set(dupKey, line);
        (word === 'ENV' ? out.env : out.labels).push([kv.key, kv.value]);
        return;
      }
      case 'WORKDIR': {
        if (!once()) return;
        const why = absPathProblem(arg);
        if (why) {
          pr.add(line, argCol, 'WORKDIR', `${JSON.stringify(arg)} has ${why}`, 'an absolute, normalised path like /work');
          return;
        }
        out.workdir = arg;
        return;
      }
      case 'USER': {
        if (!once()) return;
        const um = USER_RE.exec(arg);
        if (!um || Number(um[1]) > MAX_ID || (um[2] !== undefined && Number(um[2]) > MAX_ID)) {
          pr.add(line, argCol, 'USER', `${JSON.stringify(arg)} is not a numeric uid[:gid]`, 'USER 1000 or USER 1000:1000', 'names need a passwd lookup at run time; give the numbers');
          return;
        }
        out.user = arg;
        return;
      }
      case 'CMD':
      case 'ENTRYPOINT': {
        if (!once()) return;
        const v = parseExecForm(arg);
        if (typeof v === 'string') {
          pr.add(line, argCol, word, `${word} has ${v}`, `${word} ["program", "arg", …] (exec form, non-empty strings)`, 'there is no shell form: write ["sh", "-c", "…"] if a shell is what you want');
          return;
        }
        if (word === 'CMD') out.cmd = v;
        else out.entrypoint = v;
        return;
      }
      case 'COPY': {
        if (arg.startsWith('--') || arg.startsWith('[')) {
          pr.add(line, argCol, 'COPY', arg.startsWith('[') ? 'the JSON form of COPY is not supported' : 'COPY options (--chown, --from, …) are not supported',
            'COPY <file in this directory> </absolute/dest>', 'files are owned by root, mode 0644 (0755 when the source is executable)');
          return;
        }
        const parts = arg.split(/\s+/).filter(Boolean);
        if (parts.length !== 2) {
          pr.add(line, argCol, 'COPY', `${parts.length} operand${parts.length === 1 ? '' : 's'}`, 'COPY <source> <dest>: one file, one destination, no spaces in either');
          return;
        }
        const [src = '', rawDest = ''] = parts;
        const norm = path.posix.normalize(src);
        if (src.startsWith('/') || norm.startsWith('..') || src.split('/').includes('..') || hasBreak(src)) {
          pr.add(line, argCol, 'COPY', `source ${JSON.stringify(src)} leaves the recipe directory`, 'a path relative to the recipe directory, without ..', 'put the file next to the Containerfile');
          return;
        }
        const dest = rawDest.endsWith('/') ? `${rawDest}${path.posix.basename(norm)}` : rawDest;
        const why = absPathProblem(dest);
        if (why || dest === '/') {
          pr.add(line, argCol + src.length + 1, 'COPY', `destination ${JSON.stringify(rawDest)} has ${why ?? 'no file name'}`, 'an absolute path in the image, like /opt/app/train.py (or a directory ending in /)');
          return;
        }
        const dup = out.copies.find((c) => c.dest === dest);
        if (dup) {
          pr.add(line, argCol, 'COPY', `${dest} is copied twice (first on line ${dup.line})`, 'each destination once');
          return;
        }
        out.copies.push({ source: norm, dest, line, column: argCol });
        return;
      }
      default:
        pr.add(line, column, word, `unknown or unsupported directive ${JSON.stringify(m?.[1] ?? '')}`, `one of ${SUPPORTED}`, 'a recipe is declarative: packages in packages.txt, files by COPY, settings by ENV/WORKDIR/USER/CMD');
    }
  });
  if (!sawFrom && !pr.list.length) pr.add(1, 1, 'FROM', 'no FROM', 'FROM debian:<suite> as the first directive', 'start the Containerfile with FROM debian:bookworm');
  pr.throwIfAny(`${file} is not a valid recipe`);
  return out;
}

/** Parse `packages.txt`: one package per line, `#` starts a comment. */
export function parsePackages(text: string, file: string): string[] {
  const pr = new Problems(file);
  const out: string[] = [];
  const first = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const noComment = raw.replace(/(^|\s)#.*$/, '').replace(/\r$/, '');
    const word = noComment.trim();
    if (!word) return;
    const column = noComment.length - noComment.trimStart().length + 1;
    if (/\s/.test(word)) {
      pr.add(line, column, 'package', `${JSON.stringify(word)} is more than one word`, 'one package per line');
      return;
    }
    if (!DEBIAN_PACKAGE_RE.test(word)) {
      pr.add(line, column, 'package', `${JSON.stringify(word)} is not a Debian package name`, 'a name matching ^[a-z0-9][a-z0-9+.-]+$ (Debian Policy 5.6.7)', 'no versions, architectures or apt patterns: just the name, e.g. python3-numpy');
      return;
    }
    const f = first.get(word);
    if (f !== undefined) {
      pr.add(line, column, 'package', `${word} is listed twice (first on line ${f})`, 'each package once');
      return;
    }
    first.set(word, line);
    out.push(word);
  });
  pr.throwIfAny(`${file} is not a valid package list`);
  return out;
}

async function readText(file: string, shown: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PharosError(`${shown}: cannot read the ${what} (${code ?? (e as Error).message})`, {
      hint: `a recipe directory holds Containerfile and packages.txt`,
      exitCode: 2,
    });
  }
}

/**
 * Read and check `<root>/containers/<name>/`: both files parse, and every COPY
 * source is a regular file that stays inside the directory (symlinks included).
 */
export async function readRecipe(root: string, name: string): Promise<ContainerRecipe> {
  const rel = `containers/${name}`;
  if (!CONTAINER_NAME_RE.test(name)) {
    throw new PharosError(`${rel}: ${JSON.stringify(name)} is not a container image name`, {
      problems: [{ file: rel, field: 'name', message: 'bad directory name', expected: `a name matching ${CONTAINER_NAME_RE.source}` }],
      hint: 'rename the directory, e.g. containers/pytorch',
      exitCode: 2,
    });
  }
  const dir = path.join(root, rel);
  const cfRel = `${rel}/Containerfile`;
  const parsed = parseContainerfile(await readText(path.join(dir, 'Containerfile'), cfRel, 'Containerfile'), cfRel);
  const pkRel = `${rel}/packages.txt`;
  const packages = parsePackages(await readText(path.join(dir, 'packages.txt'), pkRel, 'package list'), pkRel);
  const pr = new Problems(cfRel);
  const realDir = await realpath(dir);
  for (const c of parsed.copies) {
    const abs = path.join(dir, c.source);
    let real: string;
    try {
      await lstat(abs);
      real = await realpath(abs);
    } catch {
      pr.add(c.line, c.column, 'COPY', `source ${c.source} does not exist in ${rel}/`, 'a file next to the Containerfile');
      continue;
    }
    if (real !== realDir && !real.startsWith(`${realDir}${path.sep}`)) {
      pr.add(c.line, c.column, 'COPY', `source ${c.source} is a symlink that leaves ${rel}/ (to ${real})`, 'a file inside the recipe directory', 'copy the file into the directory instead of linking it');
      continue;
    }
    if (!(await stat(real)).isFile()) pr.add(c.line, c.column, 'COPY', `source ${c.source} is not a regular file`, 'one file per COPY (directories are not copied)');
  }
  pr.throwIfAny(`${cfRel} is not a valid recipe`);
  return { name, dir, packages, ...parsed };
}
