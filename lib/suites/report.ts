/**
 * Suite results for people (a terminal table, the failing checks' output) and
 * for CI (JUnit XML: one <testsuite> per suite, one <testcase> per check and
 * node, failures carrying the captured output, skips their reason).
 */
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic.js';
import { dirname } from 'node:path';
import type { CheckResult, CheckStatus, SuiteEvent, SuiteResult } from './run.js';
import { formatDuration } from '../util/duration.js';
import { xmlEscape } from '../util/xml.js';


const COLORS: Record<CheckStatus, string> = { pass: '32', fail: '31', error: '31', skip: '33' };

export interface TableOptions {
  color?: boolean;
}

/** A fixed-width table: suite, check, node, status, time, and a note (skip reason / failure). */
export function renderTable(results: SuiteResult[], opts: TableOptions = {}): string {
  const head = ['SUITE', 'CHECK', 'NODE', 'STATUS', 'TIME', 'NOTE'];
  const rows: { cells: string[]; status: CheckStatus }[] = [];
  for (const s of results) {
    for (const c of s.checks) {
      rows.push({
        cells: [s.suite, c.check, c.node, c.status.toUpperCase(), formatDuration(c.durationMs), c.message],
        status: c.status,
      });
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.cells[i] ?? '').length)));
  const fmt = (cells: string[], status?: CheckStatus): string =>
    cells
      .map((c, i) => {
        // The note is last and unpadded so long messages do not widen every row.
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0);
        return i === 3 && status && opts.color ? `\u001b[${COLORS[status]}m${padded}\u001b[0m` : padded;
      })
      .join('  ')
      .trimEnd();
  const lines = [fmt(head), ...rows.map((r) => fmt(r.cells, r.status))];
  const all = results.flatMap((s) => s.checks);
  const count = (st: CheckStatus): number => all.filter((c) => c.status === st).length;
  lines.push(
    `${all.length} checks: ${count('pass')} passed, ${count('fail')} failed, ${count('error')} errors, ${count('skip')} skipped` +
      ` in ${formatDuration(results.reduce((t, s) => t + s.durationMs, 0))}`,
  );
  return lines.join('\n');
}

/** One plain progress line per event (for logs and non-TTY output); undefined
 *  for events not worth a line (check output, which goes to the log). */
export function renderEvent(e: SuiteEvent): string | undefined {
  switch (e.type) {
    case 'suite-start':
      return `suite ${e.suite}: ${e.checks} checks`;
    case 'check-start':
      return undefined;
    case 'output':
      return undefined;
    case 'check-end': {
      const r = e.result;
      const note = r.message ? ` — ${r.message}` : '';
      return `  ${r.status.toUpperCase().padEnd(5)} ${r.suite}/${r.check} on ${r.node} (${formatDuration(r.durationMs)})${note}`;
    }
    case 'suite-end':
      return `suite ${e.result.suite}: ${e.result.status.toUpperCase()} in ${formatDuration(e.result.durationMs)}`;
  }
}

/** The whole output of every failed or errored check, for the terminal. */
export function renderFailures(results: SuiteResult[]): string {
  const out: string[] = [];
  for (const s of results) {
    for (const c of s.checks) {
      if (c.status !== 'fail' && c.status !== 'error') continue;
      out.push(`--- ${s.suite}/${c.check} on ${c.node}: ${c.status.toUpperCase()} (${c.message})`);
      out.push(c.output.trimEnd() || '(no output)');
    }
  }
  return out.join('\n');
}

export function suitesPassed(results: SuiteResult[]): boolean {
  return results.every((s) => s.status === 'pass');
}

// ---------------------------------------------------------------- JUnit


function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function testcase(s: SuiteResult, c: CheckResult): string {
  const attrs = `classname="${xmlEscape(`${s.cluster}.${s.suite}`)}" name="${xmlEscape(`${c.check} [${c.node}]`)}" time="${secs(c.durationMs)}"`;
  const out = c.output ? `\n      <system-out>${xmlEscape(c.output)}</system-out>` : '';
  switch (c.status) {
    case 'pass':
      return `    <testcase ${attrs}>${out ? `${out}\n    ` : ''}</testcase>`;
    case 'skip':
      return `    <testcase ${attrs}>\n      <skipped message="${xmlEscape(c.message)}"/>${out}\n    </testcase>`;
    case 'fail':
    case 'error': {
      const tag = c.status === 'fail' ? 'failure' : 'error';
      return (
        `    <testcase ${attrs}>\n      <${tag} message="${xmlEscape(c.message)}" type="${tag}">` +
        `${xmlEscape(c.output || c.message)}</${tag}>${out}\n    </testcase>`
      );
    }
  }
}

export function junitXml(results: SuiteResult[]): string {
  const all = results.flatMap((s) => s.checks);
  const n = (st: CheckStatus, list: CheckResult[]): number => list.filter((c) => c.status === st).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pharos" tests="${all.length}" failures="${n('fail', all)}" errors="${n('error', all)}" skipped="${n('skip', all)}" time="${secs(results.reduce((t, s) => t + s.durationMs, 0))}">`,
  ];
  for (const s of results) {
    lines.push(
      `  <testsuite name="${xmlEscape(s.suite)}" tests="${s.checks.length}" failures="${n('fail', s.checks)}" errors="${n('error', s.checks)}" skipped="${n('skip', s.checks)}" time="${secs(s.durationMs)}" timestamp="${xmlEscape(s.startedAt)}">`,
    );
    for (const c of s.checks) lines.push(testcase(s, c));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/** Write JUnit XML atomically (temp file + rename), creating the directory. */
export async function writeJunit(results: SuiteResult[], path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, junitXml(results));
}
