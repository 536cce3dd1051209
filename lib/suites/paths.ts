/**
 * Where the suites are in a repository, and where suite reports live in a project's state directory (`.pharos/`): one
 * JSON result and one JUnit file per suite (the `test:<suite>` targets,
 * tasks/tests.ts), and the JUnit of a whole run (`pharos test e2e`,
 * `run-tests`, `run-test`).
 */
import { join } from 'node:path';

/** The cluster suites of a repository: `tests/suites/<suite>/check-*.sh`. */
export function suitesRoot(root: string): string {
  return join(root, 'tests', 'suites');
}

export function reportsDir(stateDir: string): string {
  return join(stateDir, 'reports');
}

/** The JSON `SuiteResult` the suite's target wrote. */
export function suiteReportFile(stateDir: string, suite: string): string {
  return join(reportsDir(stateDir), `${suite}.json`);
}

export function suiteJunitFile(stateDir: string, suite: string): string {
  return join(reportsDir(stateDir), `${suite}.xml`);
}

/** The JUnit of a run of several suites (e2e, run-tests). */
export function runJunitFile(stateDir: string): string {
  return join(reportsDir(stateDir), 'junit.xml');
}
