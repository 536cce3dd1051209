/**
 * `pharos test …`: `quick` (every fast check; what `npm test` runs) and the
 * verbs of the old test frameworks, driven by the cluster graph:
 *
 *   e2e            from nothing to a running cluster, deploy, every suite, the
 *                  failure drill, a table + JUnit, on a failure `export logs`
 *                  (path printed), teardown (unless --no-cleanup)
 *   start-cluster  build the VMs (`vms` alias)      stop-cluster  stop them
 *   deploy         build the `cluster` alias        status        VM states
 *   run-tests      every suite now (no cache)       run-test NAME one suite now
 *   list-tests     suites and their checks
 */
import { examples } from '../help.js';
import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runQuick, type QuickResult, type Tier } from '../../testing/quick.js';
import { loadProject, projectPaths, type GlobalOptions } from '../project.js';
import { buildTargets as buildWithEngine } from './engine.js';
import { PharosError } from '../../errors.js';
import type { SuiteResult } from '../../suites/run.js';
import { listSuites } from '../../suites/run.js';
import { renderEvent, suitesPassed, writeJunit } from '../../suites/report.js';
import { runJunitFile, suiteReportFile, suitesRoot } from '../../suites/paths.js';
import { inventoryDir, inventoryFiles } from '../../inventory/write.js';
import { failureDrill, hpcCluster, loadSystem, runSuitesNow, secondDeploy } from '../../testing/cluster.js';
import { e2eCause, runE2e, type E2eReport, type E2eSteps } from '../../testing/e2e.js';
import { unavailableOutcome, unavailableSuiteResults, type UnavailableSuite } from '../../testing/unavailable.js';
import type { SuiteDef } from '../../suites/suite.js';
import type { BuildSummary } from '../../run/events.js';
import { countLine, e2eRenderer, printResults, type Writers } from './test-render.js';
import { clusterEnv, clusterStatus, destroyCluster, stopCluster } from '../../cluster/ops.js';
import { readFile } from 'node:fs/promises';
import { styledOutput } from '../../util/terminal.js';
import { formatDuration } from '../../util/duration.js';


/** Builds targets through the engine (commands/engine.ts `buildTargets`); a signal is an error with its exit code. */
async function buildSummary(opts: GlobalOptions, targets: string[], extra: { keepGoing?: boolean } = {}): Promise<BuildSummary> {
  const project = await loadProject(opts);
  const r = await buildWithEngine({ ...opts, keepGoing: extra.keepGoing ?? opts.keepGoing }, project, targets);
  if (r.summary.interrupted) throw new PharosError('interrupted', { exitCode: r.exitCode });
  return r.summary;
}

async function buildTargets(opts: GlobalOptions, targets: string[], extra: { keepGoing?: boolean } = {}): Promise<boolean> {
  return (await buildSummary(opts, targets, extra)).ok;
}

async function suiteReports(stateDir: string, names: string[]): Promise<SuiteResult[]> {
  const out: SuiteResult[] = [];
  for (const n of names) {
    try {
      out.push(JSON.parse(await readFile(suiteReportFile(stateDir, n), 'utf8')) as SuiteResult);
    } catch {
      /* the suite did not run (a dependency failed) */
    }
  }
  return out;
}

export function register(program: Command): void {
  const test = program
    .command('test')
    .description('run Pharos tests: quick checks, or the real cluster end to end')
    .addHelpText(
      'after',
      examples([
        ['pharos test quick', 'every fast check (what `npm test` runs)'],
        ['pharos test quick --filter unit', 'only the steps whose name contains "unit"'],
        ['pharos test e2e --no-cleanup', 'build, deploy and test a real cluster; leave it running afterwards'],
        ['pharos test run-tests', 'run every suite against the running cluster'],
      ]),
    );
  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();
  const writers = (g: GlobalOptions): Writers => ({
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    color: styledOutput(process.stdout),
    json: g.json,
  });

  const runTier = async (tier: Tier, o: { filter?: string }, cmd: Command): Promise<void> => {
    const g = globals(cmd);
    const root = projectPaths(g).root;
    const ac = new AbortController();
    const onSig = (): void => ac.abort();
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    const t0 = Date.now();
    const failures: QuickResult[] = [];
    const results = await runQuick(root, {
      filter: o.filter,
      tier,
      signal: ac.signal,
      onResult: (r) => {
        if (!r.ok) failures.push(r);
        if (g.json) {
          process.stdout.write(JSON.stringify({ step: r.step, ok: r.ok, passed: r.passed, failed: r.failed, durationMs: r.durationMs }) + '\n');
        } else {
          process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.step.padEnd(56)} ${String(r.passed).padStart(4)} passed ${formatDuration(r.durationMs).padStart(9)}\n`);
        }
      },
    });
    const passed = results.reduce((a, r) => a + r.passed, 0);
    const failed = results.reduce((a, r) => a + r.failed, 0);
    for (const f of failures) {
      process.stdout.write(`\n--- ${f.step} (failed) ---\n${f.output.split('\n').slice(-80).join('\n')}\n`);
    }
    if (!g.json) process.stdout.write(`\n${results.length} steps in ${formatDuration(Date.now() - t0)}\n`);
    process.stdout.write(`${passed} passed, ${failed} failed\n`);
    process.exitCode = failed > 0 || results.length === 0 || ac.signal.aborted ? 1 : 0;
  };

  test
    .command('quick')
    .description('every fast check: tsc, unit, golden, schema, lint, syntax, real qemu-img/libvirtd (what `npm test` runs)')
    .option('--filter <text>', 'only steps whose name contains TEXT')
    .action((o: { filter?: string }, cmd: Command) => runTier('quick', o, cmd));

  test
    .command('slow')
    .description('tests that build a real image from the Debian mirror and boot it (minutes; CI runs them)')
    .option('--filter <text>', 'only steps whose name contains TEXT')
    .action((o: { filter?: string }, cmd: Command) => runTier('slow', o, cmd));

  test
    .command('e2e')
    .description('from nothing to a running cluster: build, deploy, every suite, the failure drill, report, teardown')
    .option('--no-cleanup', 'leave the cluster running afterwards')
    .option('--no-drill', 'skip the failure drill (kill a compute VM, bring it back)')
    .action(async (o: { cleanup: boolean; drill: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const paths = projectPaths(g);
      const system = await loadSystem(paths.configPath, paths.root);
      const plan = hpcCluster(system);
      const t0 = Date.now();
      const suiteDefs = await listSuites(suitesRoot(paths.root));
      const suites = suiteDefs.map((s) => s.name);
      const clusters = system.clusters.map((c) => c.name);
      const log = (l: string): void => void process.stderr.write(`${l}\n`);
      // Suites skipped because a target could not reach a vendor resource (deploy:kubernetes offline).
      let unavailable: UnavailableSuite[] = [];
      const clusterOf = (d: SuiteDef): string => system.clusters.find((c) => c.kind === d.cluster)?.name ?? plan.name;
      const exportModule = import('./export.js');
      // Handled where it is awaited (exportLogs); no unhandled rejection before that.
      exportModule.catch(() => undefined);
      const steps: E2eSteps = {
        build: async () => {
          const u = unavailableOutcome(await buildSummary(g, ['e2e'], { keepGoing: true }));
          unavailable = u.suites;
          for (const s of u.suites) log(`test:${s.suite} skipped: ${s.target} could not reach ${s.what}`);
          return u.ok;
        },
        suiteResults: async () => [
          ...(await suiteReports(paths.stateDir, suites.filter((n) => !unavailable.some((u) => u.suite === n)))),
          ...unavailableSuiteResults(unavailable, suiteDefs, clusterOf),
        ],
        idempotencyDeploy: () => secondDeploy(inventoryFiles(inventoryDir(paths.stateDir, plan.name)).yaml, () => {}),
        // The rebuild after the kill, judged as the build phase is: a target that is only
        // unavailable here (the Kubernetes vendor repository) does not fail the drill.
        drill: () => failureDrill(plan, async () => unavailableOutcome(await buildSummary(g, ['cluster'], { keepGoing: true })).ok, log),
        suitesAfterDrill: () =>
          runSuitesNow(paths.root, plan, {
            names: ['slurm-compute'],
            onEvent: (e) => {
              const l = renderEvent(e);
              if (l && e.type !== 'output') log(l);
            },
          }),
        writeJunit: async (results, file) => {
          await mkdir(path.dirname(file), { recursive: true });
          await writeJunit(results, file);
        },
        // Loaded when the run starts, not when it fails: a run that ends an
        // hour later (interrupted, say) must not depend on finding it then.
        exportLogs: async () => (await exportModule).exportLogsFor(g, { clusters, log }).then((r) => r.path),
        teardown: async () => {
          for (const c of system.clusters) await destroyCluster(c.name, clusterEnv(c, { owner: paths.root }), { plan: c });
        },
      };
      const render = e2eRenderer(writers(g), clusters, t0);
      let report: E2eReport;
      try {
        report = await runE2e(steps, { cluster: plan.name, clusters, drill: o.drill, cleanup: o.cleanup, junitFile: runJunitFile(paths.stateDir), onPhase: render.onPhase });
      } catch (e) {
        // Logs exported and the cluster torn down; the error says what stopped the run.
        throw e2eCause(e);
      }
      // The count line comes last, after the teardown, where CI reads it.
      process.stdout.write(render.summary(report));
      process.exitCode = report.ok ? 0 : 1;
    });

  test
    .command('start-cluster')
    .description('build and start the VMs (the `vms` alias: images, networks, disks, VMs)')
    .action(async (_o: unknown, cmd: Command) => {
      process.exitCode = (await buildTargets(globals(cmd), ['vms'])) ? 0 : 1;
    });

  test
    .command('deploy')
    .description('build the whole cluster and deploy every role (the `cluster` alias)')
    .action(async (_o: unknown, cmd: Command) => {
      process.exitCode = (await buildTargets(globals(cmd), ['cluster'])) ? 0 : 1;
    });

  test
    .command('stop-cluster')
    .description('stop every VM of the config\'s clusters (graceful, then forced)')
    .action(async (_o: unknown, cmd: Command) => {
      const paths = projectPaths(globals(cmd));
      const system = await loadSystem(paths.configPath, paths.root);
      for (const c of system.clusters) {
        const r = await stopCluster(c.name, clusterEnv(c, { owner: paths.root }));
        for (const v of r.vms) process.stdout.write(`${v.name.padEnd(32)} ${v.action} (${formatDuration(v.ms)})\n`);
      }
    });

  test
    .command('status')
    .description('state of every VM of the config\'s clusters')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const paths = projectPaths(g);
      const system = await loadSystem(paths.configPath, paths.root);
      for (const c of system.clusters) {
        const st = await clusterStatus(c.name, clusterEnv(c, { owner: paths.root }));
        if (g.json) process.stdout.write(JSON.stringify(st) + '\n');
        else for (const v of st.vms) process.stdout.write(`${v.name.padEnd(32)} ${v.state.padEnd(10)} ${v.ip.padEnd(15)} ssh ${v.ssh}\n`);
      }
    });

  test
    .command('list-tests')
    .description('the cluster suites and their checks')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const suites = await listSuites(suitesRoot(projectPaths(g).root));
      if (g.json) {
        process.stdout.write(JSON.stringify(suites.map((s) => ({ suite: s.name, cluster: s.cluster, checks: s.checks.map((c) => ({ name: c.name, nodes: c.nodes, timeoutS: c.timeoutS, description: c.description })) }))) + '\n');
        return;
      }
      for (const s of suites) {
        process.stdout.write(`${s.name}${s.cluster === 'hpc' ? '' : ` (${s.cluster} cluster)`}\n`);
        for (const c of s.checks) process.stdout.write(`  ${c.name.padEnd(28)} ${String(c.nodes).padEnd(13)} ${c.description}\n`);
      }
    });

  const runNow = async (names: string[], only: string[] | undefined, cmd: Command): Promise<void> => {
    const g = globals(cmd);
    const paths = projectPaths(g);
    const system = await loadSystem(paths.configPath, paths.root);
    const kinds = new Map((await listSuites(suitesRoot(paths.root))).map((s) => [s.name, s.cluster]));
    // Each cluster runs the named suites of its kind (all of them when none is named).
    const plans = system.clusters.filter((c) => (names.length ? names.some((n) => kinds.get(n) === c.kind) : true));
    if (plans.length === 0 && names.length) {
      throw new PharosError(`suite ${names.join(', ')} checks a ${kinds.get(names[0] ?? '') ?? 'hpc'} cluster, and ${paths.configPath} has none`, { hint: 'pharos test list-tests shows each suite with the kind of cluster it checks', exitCode: 2 });
    }
    const results: SuiteResult[] = [];
    for (const plan of plans) {
      results.push(
        ...(await runSuitesNow(paths.root, plan, {
          names,
          only,
          onEvent: (e) => {
            const l = renderEvent(e);
            if (l && (g.verbose || e.type !== 'output')) process.stderr.write(`${l}\n`);
          },
        })),
      );
    }
    printResults(results, writers(g));
    const junit = runJunitFile(paths.stateDir);
    await mkdir(path.dirname(junit), { recursive: true });
    await writeJunit(results, junit);
    process.stdout.write(`${countLine(results)}\n`);
    process.exitCode = suitesPassed(results) ? 0 : 1;
  };

  test
    .command('run-tests')
    .description('run every suite against the running cluster now (bypasses the cache)')
    .action(async (_o: unknown, cmd: Command) => runNow([], undefined, cmd));

  test
    .command('run-test')
    .description('run one suite (or some of its checks) against the running cluster now')
    .argument('<suite>', 'suite name (pharos test list-tests)')
    .option('--check <name...>', 'only these checks')
    .action(async (suite: string, o: { check?: string[] }, cmd: Command) => runNow([suite], o.check, cmd));
}
