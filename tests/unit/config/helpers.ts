import { PharosError, type ErrorDetail } from '../../../lib/errors.js';
import { loadConfig, type LoadOptions } from '../../../lib/config/load.js';

export interface Expect {
  line: number;
  field?: string;
  message: string;
  hint?: string;
  expected?: string;
}

/** Loads `path`, which must fail; returns the details. */
export async function rejectDetails(path: string, opts: LoadOptions = {}): Promise<ErrorDetail[]> {
  try {
    await loadConfig(path, opts);
  } catch (e) {
    if (!(e instanceof PharosError)) throw new Error(`${path}: threw a non-PharosError: ${String(e)}`);
    if (e.problems.length === 0) throw new Error(`${path}: PharosError without problems: ${e.message}`);
    return e.problems;
  }
  throw new Error(`${path}: loaded, but it must be rejected`);
}

/** Asserts each expectation is matched by one detail (line, field, message, hint, expected). */
export function assertExpected(path: string, details: ErrorDetail[], expects: Expect[]): void {
  for (const x of expects) {
    const hit = details.find(
      (d) =>
        (d.line ?? 0) === x.line &&
        d.message.includes(x.message) &&
        (x.field === undefined || d.field === x.field) &&
        (x.hint === undefined || (d.hint ?? '').includes(x.hint)) &&
        (x.expected === undefined || (d.expected ?? '').includes(x.expected)),
    );
    if (!hit) {
      throw new Error(`${path}: no problem matching ${JSON.stringify(x)}; got:\n${details.map((d) => `  ${d.line}:${d.column} ${d.field ?? ''} ${d.message} | ${d.hint ?? ''}`).join('\n')}`);
    }
    if (x.line > 0 && !(hit.file && hit.column && hit.column > 0)) throw new Error(`${path}: problem has no file/column: ${JSON.stringify(hit)}`);
  }
}

/** Small host so warnings are deterministic. */
export const HOST = { cpus: 64, memoryMiB: 1024 * 1024 };
