/**
 * `pharos test e2e` as a sequence of phases, returning a typed report; the CLI
 * (lib/cli/commands/test.ts) wires the real steps in, renders the report and
 * picks the exit code. The steps are injected, so the order, the teardown
 * guarantee and the report are tested with fake ones (tests/unit/cli).
 *
 * Phases, in order:
 *   build        the `e2e` alias (keep going): VMs, deploys, every suite
 *   idempotency  only after a good build: the runtime playbook a second time must change nothing
 *   drill        only when still good and asked for: a compute VM killed and
 *                brought back, then the slurm-compute suite again
 *   report       the JUnit of every result (suites, idempotency, after the drill)
 *   export-logs  only when the run did not pass (also when a phase threw or
 *                the build was interrupted), before the teardown, while the
 *                nodes still answer
 *   teardown     unless cleanup is off; always runs, also after a throw
 * A phase that throws ends the run: export-logs and teardown still run, then
 * the error is rethrown (the report so far is in `E2eError.report`).
 */
import type { SuiteResult } from '../suites/run.js';
import { suitesPassed } from '../suites/report.js';
import type { DrillStep } from './cluster.js';

export type E2ePhaseName = 'build' | 'idempotency' | 'drill' | 'report' | 'export-logs' | 'teardown';

export interface E2ePhase {
  name: E2ePhaseName;
  /** passed: it did what it should; failed: it ran and found a failure; error: it threw. */
  outcome: 'passed' | 'failed' | 'error';
  durationMs: number;
  error?: string;
}

/** The second deploy (lib/testing/cluster.ts `secondDeploy`). */
export interface IdempotencyResult {
  changed: number;
  ok: number;
  hosts: Record<string, number>;
  durationMs: number;
}

export interface E2eSteps {
  /** Builds the `e2e` alias, keeping going; true when every target succeeded. Throws on an interrupt. */
  build(): Promise<boolean>;
  /** The results the suite targets recorded (suites that did not run are absent). */
  suiteResults(): Promise<SuiteResult[]>;
  /** The runtime playbook, a second time. */
  idempotencyDeploy(): Promise<IdempotencyResult>;
  /** The failure drill (its rebuild included). */
  drill(): Promise<DrillStep[]>;
  /** The suites that run again after the drill (slurm-compute). */
  suitesAfterDrill(): Promise<SuiteResult[]>;
  /** Writes the JUnit of `results` to `file`. */
  writeJunit(results: SuiteResult[], file: string): Promise<void>;
  /** `pharos export logs` of the run's clusters; returns where they went. */
  exportLogs(): Promise<string>;
  /** Destroys the run's clusters. */
  teardown(): Promise<void>;
}

export interface E2eOptions {
  /** The cluster the suites ran against (the idempotency result names it). */
  cluster: string;
  /** The clusters the run made (export and teardown). */
  clusters: string[];
  drill: boolean;
  cleanup: boolean;
  /** Where the run's JUnit goes (lib/suites/paths.ts `runJunitFile`). */
  junitFile: string;
  /** Called as each phase starts and ends (the CLI prints progress lines from it). */
  onPhase?: (phase: E2ePhaseName, at: 'start' | 'end', report: E2eReport) => void;
  now?: () => number;
}

export interface E2eReport {
  /** The run passed (decides the exit code). */
  ok: boolean;
  /** Every phase that ran, in order. */
  phases: E2ePhase[];
  /** Suite results, then the idempotency result, then the suites after the drill. */
  results: SuiteResult[];
  idempotency?: IdempotencyResult;
  drill: DrillStep[];
  /** Where the JUnit went (absent when the report phase did not run). */
  junit?: string;
  /** Where the logs went, or why they were not exported (absent when not exported: the run passed). */
  logs?: { path: string } | { error: string };
  /** The clusters torn down (empty with cleanup off). */
  tornDown: string[];
  durationMs: number;
}

/** A phase threw: the report so far (export and teardown done) and the cause. */
export class E2eError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly report: E2eReport,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** The idempotency check as a suite result, so the table and JUnit carry it. */
export function idempotencyResult(cluster: string, again: IdempotencyResult, startedAt: string): SuiteResult {
  const status = again.changed === 0 ? 'pass' : 'fail';
  return {
    suite: 'deploy-idempotency',
    cluster,
    status,
    durationMs: again.durationMs,
    startedAt,
    checks: [
      {
        suite: 'deploy-idempotency',
        check: 'second-run-changes-nothing',
        node: 'all',
        status,
        durationMs: again.durationMs,
        output: JSON.stringify(again.hosts),
        message: again.changed === 0 ? 'no changes' : `${again.changed} tasks changed on the second run`,
      },
    ],
  };
}

export async function runE2e(steps: E2eSteps, o: E2eOptions): Promise<E2eReport> {
  const now = o.now ?? Date.now;
  const t0 = now();
  const report: E2eReport = { ok: false, phases: [], results: [], drill: [], tornDown: [], durationMs: 0 };
  /** Runs one phase; its function says whether it passed. */
  const phase = async (name: E2ePhaseName, fn: () => Promise<boolean>): Promise<boolean> => {
    o.onPhase?.(name, 'start', report);
    const p0 = now();
    try {
      const passed = await fn();
      report.phases.push({ name, outcome: passed ? 'passed' : 'failed', durationMs: now() - p0 });
      return passed;
    } catch (e) {
      report.phases.push({ name, outcome: 'error', durationMs: now() - p0, error: e instanceof Error ? e.message : String(e) });
      throw e;
    } finally {
      o.onPhase?.(name, 'end', report);
    }
  };

  let failure: { cause: unknown } | undefined;
  let ok = false;
  try {
    ok = await phase('build', () => steps.build());
    report.results = await steps.suiteResults();
    if (ok) {
      ok = await phase('idempotency', async () => {
        const again = await steps.idempotencyDeploy();
        report.idempotency = again;
        report.results.push(idempotencyResult(o.cluster, again, new Date().toISOString()));
        return again.changed === 0;
      });
    }
    if (ok && o.drill) {
      ok = await phase('drill', async () => {
        report.drill.push(...(await steps.drill()));
        const again = await steps.suitesAfterDrill();
        report.results = [...report.results, ...again.map((r) => ({ ...r, suite: `${r.suite} (after drill)` }))];
        return suitesPassed(again);
      });
    }
    await phase('report', async () => {
      await steps.writeJunit(report.results, o.junitFile);
      report.junit = o.junitFile;
      return true;
    });
    ok = ok && report.results.length > 0 && suitesPassed(report.results);
  } catch (e) {
    failure = { cause: e };
    ok = false;
  } finally {
    report.ok = ok;
    try {
      if (!ok) {
        await phase('export-logs', async () => {
          try {
            report.logs = { path: await steps.exportLogs() };
            return true;
          } catch (e) {
            // Not exported is a line in the output, never the run's failure.
            report.logs = { error: e instanceof Error ? e.message : String(e) };
            return false;
          }
        });
      }
    } finally {
      if (o.cleanup) {
        await phase('teardown', async () => {
          await steps.teardown();
          report.tornDown = [...o.clusters];
          return true;
        }).catch((e: unknown) => {
          failure ??= { cause: e };
        });
      }
      report.durationMs = now() - t0;
    }
  }
  if (failure) throw new E2eError(failure.cause, report);
  return report;
}

/** The error a thrown phase ends the CLI with: the cause itself (its message, hint and exit code). */
export function e2eCause(e: unknown): unknown {
  return e instanceof E2eError ? e.cause : e;
}
