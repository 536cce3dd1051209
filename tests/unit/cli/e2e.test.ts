/**
 * `pharos test e2e`'s orchestration (lib/testing/e2e.ts) driven with fake
 * steps: phase order, the teardown after a failure, a throw and an interrupt,
 * logs exported whenever the run does not pass, the report's contents, and the
 * text the CLI renders from it (lib/cli/commands/test-render.ts) — the lines
 * CI reads, as `test e2e` printed them before the orchestration moved.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PharosError } from '../../../lib/errors.js';
import { E2eError, e2eCause, runE2e, type E2eOptions, type E2eReport, type E2eSteps, type IdempotencyResult } from '../../../lib/testing/e2e.js';
import { e2eRenderer } from '../../../lib/cli/commands/test-render.js';
import type { SuiteResult } from '../../../lib/suites/run.js';

const res = (suite: string, status: 'pass' | 'fail'): SuiteResult => ({
  suite,
  cluster: 'hpc',
  status,
  durationMs: 1200,
  startedAt: 'T',
  checks: [{ suite, check: 'c1', node: 'n1', status, durationMs: 1200, output: 'out', message: status === 'pass' ? 'ok' : 'bad' }],
});
const clean: IdempotencyResult = { changed: 0, ok: 120, hosts: { a: 0, b: 0 }, durationMs: 61_000 };

interface Fake {
  steps: E2eSteps;
  calls: string[];
  junit: SuiteResult[][];
}

/** Fake steps that record their calls; `over` replaces single steps. */
function fake(over: Partial<E2eSteps> = {}): Fake {
  const calls: string[] = [];
  const junit: SuiteResult[][] = [];
  const rec =
    <T>(name: string, v: () => Promise<T>) =>
    async (): Promise<T> => {
      calls.push(name);
      return v();
    };
  const base: E2eSteps = {
    build: rec('build', async () => true),
    suiteResults: rec('suiteResults', async () => [res('slurm', 'pass'), res('beegfs', 'pass')]),
    idempotencyDeploy: rec('idempotencyDeploy', async () => clean),
    drill: rec('drill', async () => [{ step: 'virsh destroy hpc-compute-1', ms: 300 }]),
    suitesAfterDrill: rec('suitesAfterDrill', async () => [res('slurm-compute', 'pass')]),
    writeJunit: async (results) => {
      calls.push('writeJunit');
      junit.push(results);
    },
    exportLogs: rec('exportLogs', async () => '/p/.pharos/export/logs-1'),
    teardown: rec('teardown', async () => undefined),
  };
  const steps = { ...base };
  for (const [k, f] of Object.entries(over) as [keyof E2eSteps, E2eSteps[keyof E2eSteps]][]) {
    const name = k;
    (steps as Record<string, unknown>)[name] = async (...a: unknown[]) => {
      calls.push(name);
      return (f as (...x: unknown[]) => Promise<unknown>)(...a);
    };
  }
  return { steps, calls, junit };
}

const opts = (o: Partial<E2eOptions> = {}): E2eOptions => ({ cluster: 'hpc', clusters: ['hpc', 'cloud'], drill: true, cleanup: true, junitFile: '/p/.pharos/reports/junit.xml', ...o });
const phases = (r: E2eReport): string[] => r.phases.map((p) => `${p.name}:${p.outcome}`);

async function rejection(p: Promise<unknown>): Promise<E2eError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.instance(e, E2eError);
  return e as E2eError;
}

test('a passing run: build, idempotency, drill, report, teardown, in that order; no logs exported', async () => {
  const f = fake();
  const r = await runE2e(f.steps, opts());
  assert.equal(phases(r), ['build:passed', 'idempotency:passed', 'drill:passed', 'report:passed', 'teardown:passed']);
  assert.equal(f.calls, ['build', 'suiteResults', 'idempotencyDeploy', 'drill', 'suitesAfterDrill', 'writeJunit', 'teardown']);
  assert.ok(r.ok);
  assert.equal(r.results.map((x) => x.suite), ['slurm', 'beegfs', 'deploy-idempotency', 'slurm-compute (after drill)']);
  assert.equal(f.junit, [r.results], 'the JUnit carries every result');
  assert.equal(r.idempotency, clean);
  assert.equal(r.drill, [{ step: 'virsh destroy hpc-compute-1', ms: 300 }]);
  assert.is(r.junit, '/p/.pharos/reports/junit.xml');
  assert.is(r.logs, undefined);
  assert.equal(r.tornDown, ['hpc', 'cloud']);
  assert.ok(r.phases.every((p) => p.durationMs >= 0));
});

test('a failed build: no idempotency or drill; report, logs exported, teardown', async () => {
  const f = fake({ build: async () => false, suiteResults: async () => [res('slurm', 'fail')] });
  const r = await runE2e(f.steps, opts());
  assert.equal(phases(r), ['build:failed', 'report:passed', 'export-logs:passed', 'teardown:passed']);
  assert.not.ok(r.ok);
  assert.equal(r.logs, { path: '/p/.pharos/export/logs-1' });
  assert.ok(f.calls.indexOf('exportLogs') < f.calls.indexOf('teardown'), 'logs before the teardown, while the nodes answer');
});

test('a second deploy that changes something fails the run (no drill); its result is in the report', async () => {
  const f = fake({ idempotencyDeploy: async () => ({ ...clean, changed: 3, hosts: { a: 2, b: 1 } }) });
  const r = await runE2e(f.steps, opts());
  assert.equal(phases(r), ['build:passed', 'idempotency:failed', 'report:passed', 'export-logs:passed', 'teardown:passed']);
  const idem = r.results.find((x) => x.suite === 'deploy-idempotency')!;
  assert.is(idem.status, 'fail');
  assert.is(idem.checks[0]!.message, '3 tasks changed on the second run');
});

test('suites that fail after the drill fail the run', async () => {
  const r = await runE2e(fake({ suitesAfterDrill: async () => [res('slurm-compute', 'fail')] }).steps, opts());
  assert.not.ok(r.ok);
  assert.ok(r.phases.some((p) => p.name === 'drill' && p.outcome === 'failed'));
});

test('--no-drill and --no-cleanup skip their phases', async () => {
  const f = fake();
  const r = await runE2e(f.steps, opts({ drill: false, cleanup: false }));
  assert.ok(r.ok);
  assert.equal(phases(r), ['build:passed', 'idempotency:passed', 'report:passed']);
  assert.equal(r.tornDown, []);
  assert.not.ok(f.calls.includes('teardown'));
  assert.not.ok(f.calls.includes('drill'));
});

test('a failed build with no results at all is a failure, whatever the suites say', async () => {
  const r = await runE2e(fake({ build: async () => false, suiteResults: async () => [] }).steps, opts({ cleanup: false }));
  assert.not.ok(r.ok);
  assert.equal(r.results, []);
  assert.equal(phases(r), ['build:failed', 'report:passed', 'export-logs:passed']);
});

test('an interrupted build: logs exported, teardown runs, the interrupt (with its exit code) is what the CLI throws', async () => {
  const stop = new PharosError('interrupted', { exitCode: 130 });
  const f = fake({
    build: async () => {
      throw stop;
    },
  });
  const e = await rejection(runE2e(f.steps, opts()));
  assert.is(e2eCause(e), stop);
  assert.equal(phases(e.report), ['build:error', 'export-logs:passed', 'teardown:passed']);
  assert.is(e.report.phases[0]!.error, 'interrupted');
  assert.not.ok(f.calls.includes('writeJunit'));
  assert.equal(e.report.tornDown, ['hpc', 'cloud']);
});

test('a phase that throws after a good build (the drill): logs exported, teardown, the cause rethrown', async () => {
  const boom = new PharosError('the build after the drill failed');
  const f = fake({
    drill: async () => {
      throw boom;
    },
  });
  const e = await rejection(runE2e(f.steps, opts()));
  assert.is(e.cause, boom);
  assert.equal(phases(e.report), ['build:passed', 'idempotency:passed', 'drill:error', 'export-logs:passed', 'teardown:passed']);
});

test('logs that cannot be exported are a line in the report, not the failure; teardown still runs', async () => {
  const f = fake({
    build: async () => false,
    exportLogs: async () => {
      throw new Error('no space left on device');
    },
  });
  const r = await runE2e(f.steps, opts());
  assert.equal(r.logs, { error: 'no space left on device' });
  assert.ok(f.calls.includes('teardown'));
});

test('a failing teardown is the error after a passing run; after another failure the first error stays', async () => {
  const gone = new Error('virsh: cannot connect');
  const e = await rejection(runE2e(fake({ teardown: async () => Promise.reject(gone) }).steps, opts()));
  assert.is(e.cause, gone);
  const first = new Error('ansible died');
  const e2 = await rejection(runE2e(fake({ idempotencyDeploy: async () => Promise.reject(first), teardown: async () => Promise.reject(gone) }).steps, opts()));
  assert.is(e2.cause, first);
});

/** The text `test e2e` prints for a run of `steps` (stdout and stderr interleaved, as a CI log shows it). */
async function rendered(steps: E2eSteps, o: Partial<E2eOptions> = {}): Promise<string> {
  let text = '';
  let clock = 0;
  const now = (): number => (clock += 1000);
  const w = { out: (s: string) => void (text += `[out] ${s}`), err: (s: string) => void (text += `[err] ${s}`), color: false };
  const r = e2eRenderer(w, ['hpc', 'cloud'], now(), now);
  try {
    const rep = await runE2e(steps, { ...opts(o), onPhase: r.onPhase, now });
    w.out(r.summary(rep));
    text += `[exit ${rep.ok ? 0 : 1}]`;
  } catch (e) {
    text += `[error ${(e2eCause(e) as Error).message}]`;
  }
  return text;
}

test('rendered: a passing run prints the idempotency line, the table, the drill, then the summary after the teardown', async () => {
  const t = await rendered(fake().steps);
  const lines = t.split('\n');
  assert.is(lines[0], '[err] idempotency: running the runtime playbook a second time');
  assert.is(lines[1], '[out] idempotency: second deploy in 1m01s: ok=120 changed=0');
  assert.match(t, /\[out\] drill {2}virsh destroy hpc-compute-1 {18}300ms\n\[err\] tearing down hpc, cloud \(keep it with --no-cleanup\)\n\[out\] \nJUnit: \/p\/\.pharos\/reports\/junit\.xml\ne2e passed in \S+\n4 passed, 0 failed, 0 skipped\n\[exit 0\]$/);
  assert.ok(t.indexOf('slurm-compute (after drill)') < t.indexOf('[out] drill'), 'the table comes before the drill lines');
});

test('rendered: a failed run says where the logs went on stderr and again above the summary', async () => {
  const t = await rendered(fake({ build: async () => false, suiteResults: async () => [res('slurm', 'fail')] }).steps);
  assert.match(t, /\[err\] logs: \/p\/\.pharos\/export\/logs-1\n\[err\] tearing down hpc, cloud \(keep it with --no-cleanup\)\n\[out\] logs: \/p\/\.pharos\/export\/logs-1\n\nJUnit: \/p\/\.pharos\/reports\/junit\.xml\ne2e FAILED in \S+\n0 passed, 1 failed, 0 skipped\n\[exit 1\]$/);
  assert.not.match(t, 'idempotency');
});

test('rendered: an interrupt prints the logs line and the teardown, no summary', async () => {
  const t = await rendered(
    fake({
      build: async () => {
        throw new PharosError('interrupted', { exitCode: 130 });
      },
    }).steps,
  );
  assert.is(t, '[err] logs: /p/.pharos/export/logs-1\n[err] tearing down hpc, cloud (keep it with --no-cleanup)\n[error interrupted]');
});

test.run();
