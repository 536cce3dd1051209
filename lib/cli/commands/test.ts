/**
 * `pharos test …`: `quick` (every fast check; what `npm test` runs) and the
 * end-to-end verbs of the old test frameworks (`e2e`, `start-cluster`,
 * `stop-cluster`, `deploy`, `run-tests`, `list-tests`, `run-test NAME`,
 * `status`), which drive the cluster graph in `pharos.build.ts`.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { runQuick, type QuickResult } from '../../testing/quick.js';
import { findRoot } from '../root.js';

function fmtMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function register(program: Command): void {
  const test = program.command('test').description('run Pharos tests: quick checks, or the real cluster end to end');

  test
    .command('quick')
    .description('every fast check: tsc, unit, golden, schema, lint, syntax, real qemu-img/libvirtd (what `npm test` runs)')
    .option('--filter <text>', 'only steps whose name contains TEXT')
    .option('--json', 'one JSON object per step')
    .action(async (o: { filter?: string; json?: boolean }) => {
      const root = await findRoot(program.opts<{ root?: string }>().root);
      const ac = new AbortController();
      const onSig = (): void => ac.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      const t0 = Date.now();
      const failures: QuickResult[] = [];
      const results = await runQuick(root, {
        filter: o.filter,
        signal: ac.signal,
        onResult: (r) => {
          if (!r.ok) failures.push(r);
          if (o.json) {
            process.stdout.write(JSON.stringify({ step: r.step, ok: r.ok, passed: r.passed, failed: r.failed, durationMs: r.durationMs }) + '\n');
          } else {
            process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.step.padEnd(56)} ${String(r.passed).padStart(4)} passed ${fmtMs(r.durationMs).padStart(9)}\n`);
          }
        },
      });
      const passed = results.reduce((a, r) => a + r.passed, 0);
      const failed = results.reduce((a, r) => a + r.failed, 0);
      for (const f of failures) {
        process.stdout.write(`\n--- ${f.step} (failed) ---\n${f.output.split('\n').slice(-60).join('\n')}\n`);
      }
      if (!o.json) process.stdout.write(`\n${results.length} steps in ${fmtMs(Date.now() - t0)} (${path.relative(process.cwd(), root) || '.'})\n`);
      process.stdout.write(`${passed} passed, ${failed} failed\n`);
      process.exitCode = failed > 0 || ac.signal.aborted ? 1 : 0;
    });
}
