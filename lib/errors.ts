/**
 * Expected failures. A `PharosError` is a message for a person: what went wrong,
 * where (file:line:column and field when known), what was expected, and a hint.
 * The CLI prints it without a stack trace; anything else is a bug and shows one.
 */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  /** Field path inside a config, e.g. `clusters.hpc.controller.memory_gb`. */
  field?: string;
}

export interface ErrorDetail extends ErrorLocation {
  message: string;
  expected?: string;
  hint?: string;
}

export class PharosError extends Error {
  readonly problems: ErrorDetail[];
  readonly exitCode: number;
  constructor(message: string, opts: { problems?: ErrorDetail[]; hint?: string; exitCode?: number } = {}) {
    super(message);
    this.name = 'PharosError';
    this.problems = opts.problems ?? [];
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
  readonly hint: string | undefined;
}

/**
 * A resource outside this machine that a target needs cannot be reached (a
 * vendor package repository, say): not a bug in the config or the cluster.
 * The engine records it as its own failure kind, so `pharos test e2e` can
 * report what depended on it as skipped with this reason, never as passed.
 */
export class UnavailableError extends PharosError {
  constructor(
    /** What could not be reached, e.g. `https://pkgs.k8s.io/core:/stable:/v1.30/deb/`. */
    readonly what: string,
    message: string,
    opts: { problems?: ErrorDetail[]; hint?: string } = {},
  ) {
    super(message, opts);
    this.name = 'UnavailableError';
  }
}

export function isPharosError(e: unknown): e is PharosError {
  return e instanceof PharosError;
}

/** `file:line:column` for a location, omitting what is unknown. */
export function formatLocation(loc: ErrorLocation): string {
  if (!loc.file) return '';
  let s = loc.file;
  if (loc.line !== undefined) {
    s += `:${loc.line}`;
    if (loc.column !== undefined) s += `:${loc.column}`;
  }
  return s;
}

/** One detail as printed: `file:3:5: clusters.hpc.x: message (expected …) — hint: …`. */
export function formatDetail(d: ErrorDetail): string {
  const where = formatLocation(d);
  const parts: string[] = [];
  if (where) parts.push(`${where}:`);
  if (d.field) parts.push(`${d.field}:`);
  parts.push(d.message);
  let s = parts.join(' ');
  if (d.expected) s += ` (expected ${d.expected})`;
  if (d.hint) s += `\n    hint: ${d.hint}`;
  return s;
}

export function formatError(e: PharosError): string {
  const lines = [`error: ${e.message}`];
  for (const d of e.problems) lines.push(`  ${formatDetail(d).replace(/\n/g, '\n  ')}`);
  if (e.hint) lines.push(`hint: ${e.hint}`);
  return lines.join('\n');
}

/** One problem as `--json` prints it: every key present (null when unknown), so consumers need no guards. */
export interface ProblemJson {
  file: string | null;
  line: number | null;
  column: number | null;
  field: string | null;
  message: string;
  expected: string | null;
  hint: string | null;
}

/** The error edge under `--json`: one object on stderr instead of the text of `formatError`. */
export interface ErrorJson {
  error: string;
  problems: ProblemJson[];
  hint: string | null;
  exitCode: number;
}

export function errorJson(message: string, o: { problems?: readonly ErrorDetail[]; hint?: string; exitCode: number }): ErrorJson {
  const problems = (o.problems ?? []).map((d) => ({
    file: d.file ?? null,
    line: d.line ?? null,
    column: d.column ?? null,
    field: d.field ?? null,
    message: d.message,
    expected: d.expected ?? null,
    hint: d.hint ?? null,
  }));
  return { error: message, problems, hint: o.hint ?? null, exitCode: o.exitCode };
}
