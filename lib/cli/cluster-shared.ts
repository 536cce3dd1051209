/**
 * What `pharos cluster …` and `pharos system …` share: printing a result (text
 * or `--json`), finding the config's clusters, the environment a lifecycle
 * operation runs in (state, data, owner), the status table and its exit codes,
 * the destroy confirmation, and `start` through the engine for built images.
 */
import { createInterface } from 'node:readline/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PharosError } from '../errors.js';
import type { ClusterPlan, SystemPlan } from '../model.js';
import { clusterPaths, defaultDataRoot, defaultStateRoot } from '../cluster/paths.js';
import { listStates } from '../cluster/state.js';
import { defaultOwner, ownerPath } from '../cluster/owners.js';
import { clusterStatus, type ClusterStatus, type DestroyReport } from '../cluster/ops.js';
import { findRootSync } from './root.js';
import { explicitConfig, projectPaths, type GlobalOptions } from './project.js';

/** A result on stdout: the JSON document with `--json`, else the text. */
export function out(g: GlobalOptions, value: unknown, text: () => string): void {
  process.stdout.write(g.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/** The config's own system plan (`-c`, else the checkout's config), before any GPU move. */
export async function configPlanFor(g: GlobalOptions): Promise<SystemPlan> {
  const { loadConfig, planSystem } = await import('../config/index.js');
  // An explicit config needs no checkout (pharos.build.ts) around it.
  const configPath = explicitConfig(g.config) ?? projectPaths(g).configPath;
  const { noteCompat } = await import('./config-warnings.js');
  return planSystem(noteCompat(await loadConfig(configPath)));
}

/** The system plan Pharos acts on: the config's, with this machine's GPU moves (`pharos gpu move`) applied, as in the build graph. */
export async function systemPlanFor(g: GlobalOptions): Promise<SystemPlan> {
  const { withGpuAssignments } = await import('../cluster/gpu-assign.js');
  return withGpuAssignments(await configPlanFor(g), defaultStateRoot());
}

/** One cluster of the config: by name or kind, else the HPC cluster. */
export async function planFor(g: GlobalOptions, want: string | undefined): Promise<ClusterPlan> {
  const { pickCluster } = await import('./commands/inventory.js');
  return pickCluster(await systemPlanFor(g), want);
}

/** A cluster name: `--cluster`, else the only cluster with state, else the config's. */
export async function clusterName(g: GlobalOptions, want: string | undefined): Promise<{ name: string; uri: string }> {
  const states = await listStates(defaultStateRoot());
  if (want) {
    const s = states.find((x) => x.cluster === want);
    if (s) return { name: s.cluster, uri: s.uri };
  } else if (states.length === 1) return { name: states[0]!.cluster, uri: states[0]!.uri };
  const p = await planFor(g, want);
  return { name: p.name, uri: p.libvirtUri };
}

/**
 * Ask on the terminal before destroying; without one (a script, CI), refuse
 * unless --yes was given: a destroy nobody confirmed is how data gets lost.
 * `what` names it ("cluster pharos", "clusters pharos, pharos-cloud").
 */
export async function confirmDestroy(what: string, gone: string[], leftAlone: string[], dryRunHint: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new PharosError(`not destroying ${what} without confirmation: stdin is not a terminal`, {
      hint: `pass --yes to destroy it (see what would go with: ${dryRunHint})`,
    });
  }
  process.stderr.write(`${what}: this removes\n  ${gone.join('\n  ')}\n`);
  if (leftAlone.length) process.stderr.write(`left alone (Pharos did not make them for it):\n  ${leftAlone.join('\n  ')}\n`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // End of input (Ctrl-D) is a "no".
  const closed = new Promise<string>((done) => rl.once('close', () => done('')));
  const answer = await Promise.race([rl.question(`destroy ${what}? [y/N] `).catch(() => ''), closed]).finally(() => rl.close());
  if (!/^y(es)?$/i.test(answer.trim())) throw new PharosError(`${what} not destroyed (answered "${answer.trim()}")`, { exitCode: 1 });
}

/** What a destroy removes (or would), one line each. */
export function destroyedLines(r: DestroyReport): string[] {
  return [...r.domains.map((d) => `domain ${d}`), ...r.networks.map((n) => `network ${n}`), ...r.pools.map((p) => `pool ${p}`), ...r.files];
}

/** The checkout that owns what these commands create: -C's project, or -C itself where it holds no
 *  pharos.build.ts (`cluster start --images-dir` needs no graph), else the checkout around cwd. */
export function ownerOf(g: GlobalOptions): string {
  if (!g.root) return defaultOwner();
  const dir = resolve(g.root);
  return ownerPath(existsSync(join(dir, 'pharos.build.ts')) ? findRootSync(g.root) : dir);
}

/** Where a cluster's state and data live, who owns it, and where its progress lines go. */
export function envOf(g: GlobalOptions, name: string, uri: string) {
  const stateRoot = defaultStateRoot();
  const dataRoot = defaultDataRoot(uri);
  return { uri, stateRoot, paths: clusterPaths(name, stateRoot, dataRoot), owner: ownerOf(g), log: (l: string) => process.stderr.write(`${l}\n`) };
}

export function statusTable(st: ClusterStatus): string {
  const word = (a: boolean | undefined): string => (a ? 'active' : a === false ? 'inactive' : 'missing');
  return [
    `cluster ${st.cluster} (${st.uri})  network ${st.network.name}: ${word(st.network.active)}  pool ${st.pool.name}: ${word(st.pool.active)}`,
    ...st.vms.map((v) => `  ${v.name.padEnd(28)} ${v.state.padEnd(10)} ${v.ip.padEnd(15)} ssh ${v.ssh}${v.pci.length ? `  pci ${v.pci.join(',')}` : ''}`),
  ].join('\n');
}

/** `cluster status` and `system status` exit codes, as in STATUS_HELP and the README. */
export const STATUS_EXIT = { running: 0, 'not-created': 0, stopped: 3, partial: 4 } as const;
export type StatusWord = keyof typeof STATUS_EXIT;
export const STATUS_HELP = `
Exit status: 0 every VM running, or the cluster is not created (no state);
3 stopped (no VM running); 4 partial (some VMs running, some not);
1 an error (e.g. libvirt unreachable); 2 a usage error.`;

export function statusSummary(st: ClusterStatus): { state: 'running' | 'stopped' | 'partial'; text: string } {
  const running = st.vms.filter((v) => v.state === 'running').length;
  const state = running === st.vms.length ? 'running' : running === 0 ? 'stopped' : 'partial';
  return { state, text: `${state}: ${running} of ${st.vms.length} VM(s) running` };
}

/**
 * `start` for built images: the engine builds the VM targets (and the images,
 * keys, network and pool they need; only what changed runs). Returns false
 * when the build failed or was a dry run (the reporter has said why, and the
 * exit code is set), true when the VMs are up.
 */
export async function startThroughEngine(g: GlobalOptions, targets: string[], noWait: boolean): Promise<boolean> {
  const { loadProject } = await import('./project.js');
  const { buildTargets } = await import('./commands/engine.js');
  const project = await loadProject(g);
  if (noWait && !g.json) process.stderr.write('note: --no-wait does not apply when the engine builds the VMs (a VM target is done when SSH answers)\n');
  // --json: stdout carries only the status document; the build's NDJSON events go to stderr.
  const reporter = g.json ? (await import('../run/reporters.js')).jsonReporter({ out: process.stderr }) : undefined;
  const r = await buildTargets(g, project, targets, { reporter });
  if (r.exitCode !== 0) process.exitCode = r.exitCode;
  // -n: the engine said what it would build; there is no cluster to show yet.
  return r.exitCode === 0 && !g.dryRun;
}

/** The status of a cluster the engine just started. */
export async function startedStatus(g: GlobalOptions, plan: ClusterPlan): Promise<ClusterStatus> {
  return clusterStatus(plan.name, envOf(g, plan.name, plan.libvirtUri));
}
