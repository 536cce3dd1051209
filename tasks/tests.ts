/**
 * Cluster suite targets: `test:<suite>` runs `tests/suites/<suite>/check-*.sh`
 * inside the cluster's VMs over SSH. A suite is cached on the cluster's state
 * (its VMs, and every deploy of its cluster or the roles its `# @deploys`
 * header names) and on its own files, so `pharos build e2e`
 * re-runs only the suites whose cluster or scripts changed. Each run writes a
 * JSON result and JUnit XML under `.pharos/reports/`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { target, type Target } from '../lib/index.js';
import { PharosError } from '../lib/errors.js';
import { listSuites, runSuite, type SuiteResult } from '../lib/suites/run.js';
import { accessOf, type NodeAccess } from '../lib/cluster/access.js';
import { renderEvent, renderFailures, writeJunit } from '../lib/suites/report.js';
import type { ClusterTargets, KeysOut, VmOut } from './vms.js';
import type { DeployTargets } from './deploy.js';
import type { PushOut } from './registry.js';
import { preloadEnv, type PreloadOut } from '../lib/suites/preloads.js';
import { CONTAINER_SUITES, containerEnv } from '../lib/suites/images.js';
import { reportsDir, suiteJunitFile, suiteReportFile, suitesRoot } from '../lib/suites/paths.js';

export interface SuiteOut {
  suite: string;
  passed: number;
  failed: number;
  skipped: number;
  report: string;
  junit: string;
}

export { reportsDir } from '../lib/suites/paths.js';

export async function testTargets(
  root: string,
  stateDir: string,
  ct: ClusterTargets,
  deploys: DeployTargets,
  pushes: readonly Target<PushOut>[] = [],
  preloads: readonly Target<PreloadOut>[] = [],
): Promise<Target<SuiteOut>[]> {
  const plan = ct.plan;
  const vmDeps: Record<string, Target<unknown>> = {};
  for (const [name, t] of ct.vms) vmDeps[name] = t;
  const deployDeps: Record<string, Target<unknown>> = {};
  for (const d of deploys.roles) deployDeps[d.name] = d;
  const out: Target<SuiteOut>[] = [];
  const pushDeps: Record<string, Target<unknown>> = {};
  for (const p of pushes) pushDeps[p.name] = p;
  for (const p of preloads) pushDeps[p.name] = p;
  for (const suite of await listSuites(suitesRoot(root))) {
    if (suite.cluster !== plan.kind) continue;
    // A suite waits for every deploy of its cluster, or for the roles its `# @deploys` names
    // (the deploys those need come with them: each deploy target waits for its own).
    let waitFor = deployDeps;
    if (suite.deploys) {
      const missing = suite.deploys.filter((r) => !deployDeps[`deploy:${r}`]);
      if (missing.length) {
        throw new PharosError(`suite ${suite.name} waits for deploy role(s) ${missing.join(', ')}, which cluster ${plan.name} does not deploy`, {
          hint: `its "# @deploys" header names roles of ${plan.name}: ${Object.keys(deployDeps).map((d) => d.slice('deploy:'.length)).join(', ') || 'none'}`,
        });
      }
      waitFor = Object.fromEntries(suite.deploys.map((r) => [`deploy:${r}`, deployDeps[`deploy:${r}`]!]));
    }
    // The HPC container suites wait for the registry pushes; a cloud suite for the preloads.
    const usesImages = suite.cluster === 'cloud' || CONTAINER_SUITES.includes(suite.name);
    out.push(
      target<SuiteOut, Record<string, Target<unknown>>>({
        name: `test:${suite.name}`,
        description: `cluster suite ${suite.name} (${suite.checks.length} checks, over SSH in the VMs)`,
        deps: { keys: ct.keys, ...vmDeps, ...waitFor, ...(usesImages ? pushDeps : {}) },
        inputs: [...suite.files.map((f) => path.relative(root, path.resolve(root, f))), 'lib/suites/**', 'lib/tools/ssh.ts', 'lib/ssh/**'],
        params: { suite: suite.name, cluster: plan.name },
        pool: 'suite',
        run: async (ctx) => {
          const keys = ctx.deps.keys as KeysOut;
          const access = new Map<string, NodeAccess>();
          for (const name of ct.vms.keys()) {
            const v = ctx.deps[name] as VmOut;
            if (v.running) access.set(name, accessOf(v));
          }
          ctx.phase('running checks');
          const result: SuiteResult = await runSuite({
            suite,
            cluster: plan,
            access,
            keyFile: keys.privateKey,
            knownHostsFile: keys.knownHosts,
            ...(usesImages
              ? { env: plan.kind === 'cloud' ? preloadEnv(preloads.map((p) => ctx.deps[p.name] as PreloadOut)) : containerEnv(pushes.map((p) => ctx.deps[p.name] as PushOut)) }
              : {}),
            signal: ctx.signal,
            onEvent: (e) => {
              const line = renderEvent(e);
              if (line) ctx.log(line);
            },
          });
          const dir = reportsDir(ctx.stateDir);
          await mkdir(dir, { recursive: true });
          const report = suiteReportFile(ctx.stateDir, suite.name);
          const junit = suiteJunitFile(ctx.stateDir, suite.name);
          await writeFile(report, JSON.stringify(result, null, 2));
          await writeJunit([result], junit);
          const count = (s: string): number => result.checks.filter((c) => c.status === s).length;
          if (result.status !== 'pass') {
            ctx.log(renderFailures([result]));
            throw new PharosError(`suite ${suite.name}: ${count('fail') + count('error')} of ${result.checks.length} checks failed`, {
              hint: `report: ${report}; re-run it: pharos test run-test ${suite.name}`,
            });
          }
          return { suite: suite.name, passed: count('pass'), failed: 0, skipped: count('skip'), report, junit };
        },
      }),
    );
  }
  return out;
}
