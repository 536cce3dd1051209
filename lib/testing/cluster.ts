/**
 * What the `pharos test` verbs need from a running cluster: its plan, how to
 * reach each node (from the cluster's state), running suites directly, and the
 * failure drill (a compute VM killed under Slurm, brought back by a build).
 */
import path from 'node:path';
import { PharosError } from '../errors.js';
import type { ClusterPlan, SystemPlan } from '../model.js';
import { loadConfig, planSystem } from '../config/index.js';
import { clusterEnv, type ClusterEnv } from '../cluster/ops.js';
import { readState } from '../cluster/state.js';
import * as virsh from '../tools/virsh.js';
import { connect, run, type SshConnection } from '../tools/ssh.js';
import { preloadEnv, readPreloads } from '../suites/preloads.js';
import { listSuites, runSuites, type SuiteEvent, type SuiteResult } from '../suites/run.js';
import { accessFromState, type SshAccess } from '../cluster/access.js';
import { RUNTIME_PLAYBOOK, deployStrategy, runPlaybook } from '../tools/ansible.js';
import { pollWithBackoff } from '../util/poll.js';
import { containerEnv, readPushes } from '../suites/images.js';
import { suitesRoot } from '../suites/paths.js';

export async function loadSystem(configPath: string, root: string): Promise<SystemPlan> {
  return planSystem(await loadConfig(configPath, { root }));
}

/** The cluster the suites run against: the HPC one. */
export function hpcCluster(system: SystemPlan): ClusterPlan {
  const c = system.clusters.find((x) => x.kind === 'hpc');
  if (!c) throw new PharosError(`${system.configPath} has no hpc cluster`, { hint: 'the cluster suites test Slurm: add clusters.hpc' });
  return c;
}

/** Where each VM is reached (lib/cluster/access.ts, from the cluster's state) and its cluster's environment. */
export interface ClusterAccess extends SshAccess {
  env: ClusterEnv;
}

export async function clusterAccess(plan: ClusterPlan): Promise<ClusterAccess> {
  const env = clusterEnv(plan);
  const state = await readState(env.paths.stateFile);
  if (!state || Object.keys(state.vms).length === 0) {
    throw new PharosError(`cluster ${plan.name} is not running (no state in ${env.paths.stateFile})`, { hint: 'start it: pharos test start-cluster (or pharos build cluster)' });
  }
  return { env, ...accessFromState(state, env.paths) };
}

export { suitesRoot } from '../suites/paths.js';

/** Runs suites now, bypassing the cache (`run-tests`, `run-test NAME`). */
export async function runSuitesNow(
  root: string,
  plan: ClusterPlan,
  o: { names?: string[]; signal?: AbortSignal; onEvent?: (e: SuiteEvent) => void; only?: string[] },
): Promise<SuiteResult[]> {
  const all = await listSuites(suitesRoot(root));
  for (const n of o.names ?? []) {
    if (!all.some((s) => s.name === n)) {
      throw new PharosError(`unknown suite ${n}`, { hint: `suites: ${all.map((s) => s.name).join(', ')} (pharos test list-tests)` });
    }
  }
  // A cluster runs the suites of its kind (`# @cluster`) only.
  const suites = all.filter((s) => s.cluster === plan.kind && (!o.names?.length || o.names.includes(s.name)));
  const a = await clusterAccess(plan);
  const stateDir = path.join(root, '.pharos');
  const env = plan.kind === 'cloud' ? preloadEnv(await readPreloads(stateDir, plan.name)) : containerEnv(await readPushes(stateDir, plan.name));
  return runSuites({ suites, cluster: plan, access: a.nodes, keyFile: a.keyFile, knownHostsFile: a.knownHostsFile, env, signal: o.signal, onEvent: o.onEvent, only: o.only });
}

async function controllerShell(plan: ClusterPlan): Promise<SshConnection> {
  const a = await clusterAccess(plan);
  const ctl = plan.nodes.find((n) => n.role === 'controller');
  if (!ctl) throw new PharosError(`cluster ${plan.name} has no controller`);
  const acc = a.nodes.get(ctl.name);
  if (!acc) throw new PharosError(`no SSH access recorded for ${ctl.name}`);
  return connect({ host: acc.host, port: acc.port, username: 'root', privateKeyPath: a.keyFile, knownHostsPath: a.knownHostsFile, hostAlias: ctl.name, readyTimeoutMs: 30_000 });
}

/** Polls `sinfo` on the controller until `node`'s state matches, or times out naming it. */
export async function waitSlurmState(conn: SshConnection, node: string, want: RegExp, timeoutMs: number, what: string): Promise<string> {
  let last = '';
  const got = await pollWithBackoff(
    async () => {
      const r = await run(conn, `sinfo -h -N -n ${node} -o %T`, { timeoutMs: 30_000, what: 'sinfo' });
      last = r.stdout.trim();
      return want.test(last) ? last : undefined;
    },
    { timeoutMs, firstDelayMs: 1000, maxDelayMs: 5000 },
  );
  if (got) return got.value;
  throw new PharosError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for Slurm to mark ${node} ${what} (sinfo says "${last}")`);
}

export interface DrillStep {
  step: string;
  ms: number;
}

/**
 * Failure drill: start a job on one compute VM, force the VM off (`virsh
 * destroy`) under it, wait until Slurm marks the node DOWN, converge with
 * `rebuild` (a `pharos build cluster`), wait until the node is back in service.
 * Returns the timed steps.
 */
export async function failureDrill(plan: ClusterPlan, rebuild: () => Promise<boolean>, log: (l: string) => void): Promise<DrillStep[]> {
  const victim = [...plan.nodes].reverse().find((n) => n.role === 'compute' && n.autoStart);
  if (!victim) throw new PharosError(`cluster ${plan.name} has no running compute node to kill`);
  const steps: DrillStep[] = [];
  const time = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    log(`drill: ${step}`);
    const r = await fn();
    steps.push({ step, ms: Date.now() - t0 });
    return r;
  };
  let conn = await controllerShell(plan);
  let job = '';
  try {
    // Kill the node under a running job, as a real failure would.
    job = await time(`a job runs on ${victim.name}`, async () => {
      const r = await run(conn, `sbatch --parsable -N1 -w ${victim.name} -t 10 -J pharos-drill --wrap 'sleep 600'`, { timeoutMs: 60_000, what: 'sbatch of the drill job' });
      const id = r.stdout.trim().split(';')[0] ?? '';
      if (r.code !== 0 || !/^\d+$/.test(id)) throw new PharosError(`could not submit the drill job: ${r.stderr.trim() || r.stdout.trim()}`);
      let st = '';
      const running = await pollWithBackoff(
        async () => {
          st = (await run(conn, `squeue -h -j ${id} -o %T`, { timeoutMs: 30_000, what: 'squeue' })).stdout.trim();
          return st === 'RUNNING' ? id : undefined;
        },
        { timeoutMs: 180_000, firstDelayMs: 500, maxDelayMs: 4000 },
      );
      if (running) return running.value;
      throw new PharosError(`timed out after 180 s waiting for drill job ${id} to run on ${victim.name} (state "${st}")`);
    });
    await time(`virsh destroy ${victim.name}`, () => virsh.domain.destroy(plan.libvirtUri, victim.name));
    const down = await time(`Slurm marks ${victim.name} down`, () =>
      waitSlurmState(conn, victim.name, /down/i, 600_000, 'down'),
    );
    log(`drill: sinfo says ${victim.name} is ${down}`);
    const js = await run(conn, `scontrol -o show job ${job}`, { timeoutMs: 30_000, what: 'scontrol show job' });
    log(`drill: job ${job} is ${/JobState=(\S+)/.exec(js.stdout)?.[1] ?? 'gone'} (${/Reason=(\S+)/.exec(js.stdout)?.[1] ?? '-'})`);
    const ok = await time('pharos build cluster', rebuild);
    if (!ok) throw new PharosError(`the build after the drill failed; ${victim.name} was not brought back`);
    conn.close();
    conn = await controllerShell(plan);
    const back = await time(`Slurm returns ${victim.name} to service`, () =>
      waitSlurmState(conn, victim.name, /^(idle|mixed|allocated)$/i, 600_000, 'idle'),
    );
    log(`drill: sinfo says ${victim.name} is ${back}`);
  } finally {
    if (job) await run(conn, `scancel ${job}`, { timeoutMs: 30_000, what: 'scancel of the drill job' }).catch(() => undefined);
    conn.close();
  }
  return steps;
}

/**
 * Idempotency: the whole runtime playbook, run again on the deployed cluster,
 * must change nothing. Returns the per-host changed counts (all zero to pass).
 */
export async function secondDeploy(inventoryPath: string, onLine: (l: string) => void, signal?: AbortSignal): Promise<{ changed: number; ok: number; hosts: Record<string, number>; durationMs: number }> {
  const r = await runPlaybook({ playbook: RUNTIME_PLAYBOOK, inventoryPath, onLine, signal, env: { ...process.env, ...deployStrategy().env } });
  const hosts: Record<string, number> = {};
  for (const [h, rc] of Object.entries(r.recap)) hosts[h] = rc.changed;
  return { changed: r.changed, ok: r.ok, hosts, durationMs: r.durationMs };
}
