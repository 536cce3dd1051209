/**
 * What the `pharos test` verbs print: the suite table (or JSON), the count
 * line, and `test e2e`'s progress lines and summary, rendered from the report
 * lib/testing/e2e.ts returns. Writers are passed in, so the text is testable.
 */
import type { SuiteResult } from '../../suites/run.js';
import { renderFailures, renderTable } from '../../suites/report.js';
import type { E2ePhaseName, E2eReport, IdempotencyResult } from '../../testing/e2e.js';
import { formatDuration } from '../../util/duration.js';

export interface Writers {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Colour in the table (a terminal without NO_COLOR). */
  color: boolean;
  json?: boolean;
}

export function printResults(results: SuiteResult[], w: Writers): void {
  if (w.json) {
    w.out(JSON.stringify(results, null, 2) + '\n');
    return;
  }
  w.out(renderTable(results, { color: w.color }) + '\n');
  const f = renderFailures(results);
  if (f.trim()) w.out('\n' + f + '\n');
}

export function countLine(results: SuiteResult[]): string {
  let p = 0;
  let f = 0;
  let s = 0;
  for (const r of results)
    for (const c of r.checks) {
      if (c.status === 'pass') p++;
      else if (c.status === 'skip') s++;
      else f++;
    }
  return `${p} passed, ${f} failed, ${s} skipped`;
}

export function idempotencyLine(again: IdempotencyResult): string {
  const changed = Object.entries(again.hosts).filter(([, n]) => n > 0);
  return `idempotency: second deploy in ${formatDuration(again.durationMs)}: ok=${again.ok} changed=${again.changed}${changed.length ? ` (${changed.map(([h, n]) => `${h}: ${n}`).join(', ')})` : ''}\n`;
}

function logsLine(report: E2eReport): string {
  if (!report.logs) return '';
  return 'path' in report.logs ? `logs: ${report.logs.path}\n` : `logs: not exported: ${report.logs.error}\n`;
}

/**
 * `test e2e`'s output: progress lines as phases start and end (`onPhase`),
 * then `summary` (printed after the teardown, where CI reads the count line).
 * `t0`: when the run started; the duration it prints ends with the report.
 */
export function e2eRenderer(w: Writers, clusters: string[], t0: number, now: () => number = Date.now) {
  let testedMs = 0;
  const onPhase = (phase: E2ePhaseName, at: 'start' | 'end', report: E2eReport): void => {
    if (phase === 'idempotency' && at === 'start') w.err('idempotency: running the runtime playbook a second time\n');
    if (phase === 'idempotency' && at === 'end' && report.idempotency) w.out(idempotencyLine(report.idempotency));
    if (phase === 'report' && at === 'start') {
      printResults(report.results, w);
      for (const d of report.drill) w.out(`drill  ${d.step.padEnd(44)} ${formatDuration(d.ms)}\n`);
    }
    if (phase === 'report' && at === 'end') testedMs = now() - t0;
    // Said as soon as known too: after a failed phase the summary is never printed.
    if (phase === 'export-logs' && at === 'end') w.err(logsLine(report));
    if (phase === 'teardown' && at === 'start') w.err(`tearing down ${clusters.join(', ')} (keep it with --no-cleanup)\n`);
  };
  const summary = (report: E2eReport): string =>
    `${logsLine(report)}\nJUnit: ${report.junit ?? ''}\ne2e ${report.ok ? 'passed' : 'FAILED'} in ${formatDuration(testedMs)}\n${countLine(report.results)}\n`;
  return { onPhase, summary };
}
