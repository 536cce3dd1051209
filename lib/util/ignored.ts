/**
 * Directories that are never inputs of a target and never watched: Pharos's
 * own state (`.pharos`), installed packages and git's store. One list, for
 * directory walks (`isIgnoredDir`), whole paths (`inIgnoredDir`) and globby
 * (`IGNORED_GLOBS`).
 */
export const IGNORED_DIRS: readonly string[] = ['.pharos', 'node_modules', '.git'];

const names = new Set(IGNORED_DIRS);

/** Whether a directory entry's name is one of `IGNORED_DIRS`. */
export function isIgnoredDir(name: string): boolean {
  return names.has(name);
}

/** Whether any component of `path` (either slash) is one of `IGNORED_DIRS`. */
export function inIgnoredDir(path: string): boolean {
  return path.split(/[/\\]/).some((part) => names.has(part));
}

/** `IGNORED_DIRS` as globby `ignore` patterns. */
export const IGNORED_GLOBS: readonly string[] = IGNORED_DIRS.map((d) => `**/${d}/**`);
