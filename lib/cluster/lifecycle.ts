/**
 * A cluster's lifecycle after start: stop, destroy (only what Pharos made for it),
 * status, and one VM found by name across clusters (start, stop).
 */
import { mdevExists, removeMdevs } from '../host/mdev.js';
import { rm } from 'node:fs/promises';
import type { ClusterPlan } from '../model.js';
import { PharosError } from '../errors.js';
import * as virsh from '../tools/virsh.js';
import { probeDomains } from '../libvirt/probe.js';
import { listStates, recordsObject, readState, type ClusterState, type VmRecord } from './state.js';
import { checkClusterOwner, readClusterOwner, releaseCluster } from './owners.js';
import { startDomain, stopDomain, type StopResult, waitForSsh } from './domain.js';
import { type ClusterEnv, type OwnedEnv, ownerEnv } from './env.js';
import { checkGpuOwnership, claimGpus, releaseGpus } from './gpus.js';
import { removeNetwork } from './network.js';
import { removePool } from './pool.js';
import { exists, ignoreNotFound } from './undo.js';

export interface StopReport {
  vms: { name: string; action: StopResult['action'] | 'would-stop'; ms: number }[];
}

export interface StopOptions {
  timeoutMs?: number;
  /** Say what would stop (`would-stop`, `already-stopped`, `absent`); touch nothing. */
  dryRun?: boolean;
}

async function wouldStop(uri: string, name: string): Promise<StopReport['vms'][number]> {
  const st = await virsh.domain.state(uri, name);
  return { name, action: st === undefined ? 'absent' : st === 'shut off' || st === 'crashed' ? 'already-stopped' : 'would-stop', ms: 0 };
}

export async function stopVms(uri: string, names: string[], stateRoot: string, opts: StopOptions = {}): Promise<StopReport> {
  const vms = await Promise.all(
    names.map(async (name) => {
      if (opts.dryRun) return wouldStop(uri, name);
      const r = await stopDomain(uri, name, opts);
      await releaseGpus(stateRoot, { vm: name });
      return { name, action: r.action, ms: r.ms };
    }),
  );
  return { vms };
}

export async function stopCluster(cluster: string, env: OwnedEnv, opts: StopOptions = {}): Promise<StopReport> {
  await checkClusterOwner(ownerEnv(cluster, env), 'stopping');
  const state = await readState(env.paths.stateFile);
  if (!state) throw new PharosError(`cluster ${cluster} has no state (never started, or destroyed)`, { hint: `pharos cluster start` });
  return stopVms(state.uri, Object.keys(state.vms), env.stateRoot, opts);
}

// ---------------------------------------------------- cluster: destroy

export interface DestroyReport {
  domains: string[];
  networks: string[];
  pools: string[];
  files: string[];
  /** Objects sharing the cluster's name prefix that are not its own: untouched, `kind name: why`. */
  leftAlone: string[];
}

export interface DestroyOptions {
  /** The cluster's plan, when known: its node names are looked at too. */
  plan?: ClusterPlan;
  /** Report what would go (and what is left alone); touch nothing. */
  dryRun?: boolean;
}

/**
 * Remove a cluster: its domains (those whose Pharos metadata names this
 * cluster), the networks and pools its state records, overlays, console logs,
 * keys and state. Anything else named `<cluster>-…` — a domain without Pharos
 * metadata or of another cluster, a network or pool the state does not record —
 * is reported in `leftAlone` and never touched. Idempotent; `dryRun` only reports.
 */
export async function destroyCluster(cluster: string, env: OwnedEnv, opts: DestroyOptions = {}): Promise<DestroyReport> {
  virsh.assertSafeName('cluster', cluster);
  const { plan, dryRun = false } = opts;
  const oenv = ownerEnv(cluster, env);
  if ((await checkClusterOwner(oenv, 'destroying')) === 'stale' && !dryRun) {
    const o = await readClusterOwner(env.stateRoot, cluster);
    oenv.log(`warning: cluster ${cluster} was owned by ${o?.owner ?? 'a checkout'}, which no longer exists; destroying it from ${oenv.owner}`);
  }
  const state = await readState(env.paths.stateFile);
  const uri = state?.uri ?? env.uri;
  const prefix = `${cluster}-`;
  const others = (await listStates(env.stateRoot)).filter((s) => s.cluster !== cluster);
  const report: DestroyReport = { domains: [], networks: [], pools: [], files: [], leftAlone: [] };
  const leave = (kind: 'network' | 'pool', n: string): void => {
    const other = others.find((s) => recordsObject(s, kind, n));
    report.leftAlone.push(`${kind} ${n}: ${other ? `cluster ${other.cluster}'s` : 'not created by pharos'}`);
  };

  const listed = await virsh.domain.list(uri);
  const candidates = new Set<string>([
    ...Object.keys(state?.vms ?? {}),
    ...(plan?.nodes.map((n) => n.name) ?? []),
    ...listed.filter((n) => n.startsWith(prefix)),
  ]);
  const probe = await probeDomains(uri, [...candidates].filter((n) => listed.includes(n)));
  for (const [name, p] of probe.domains) {
    if (!p.exists) continue;
    if (p.cluster !== cluster) {
      report.leftAlone.push(`domain ${name}: ${p.cluster ? `cluster ${p.cluster}'s` : 'not created by pharos'}`);
      continue;
    }
    if (!dryRun) {
      if (p.state === 'running' || p.state === 'paused' || p.state === 'in shutdown') await ignoreNotFound(virsh.domain.destroy(uri, name));
      await ignoreNotFound(virsh.domain.undefine(uri, name));
    }
    report.domains.push(name);
  }

  for (const n of await virsh.network.list(uri)) {
    if (recordsObject(state, 'network', n)) {
      if (!dryRun) await removeNetwork(uri, n);
      report.networks.push(n);
    } else if (n.startsWith(prefix) || n === plan?.network.libvirtName) leave('network', n);
  }
  for (const n of await virsh.pool.list(uri)) {
    if (recordsObject(state, 'pool', n)) {
      if (!dryRun) await removePool(uri, n);
      report.pools.push(n);
    } else if (n.startsWith(prefix)) leave('pool', n);
  }

  const files = [state?.poolDir ?? env.paths.poolDir, env.paths.consoleDir, env.paths.stateDir, ...Object.values(state?.vms ?? {}).map((v) => v.disk)];
  for (const f of new Set(files)) {
    if (!(await exists(f))) continue;
    if (!dryRun) await rm(f, { recursive: true, force: true });
    report.files.push(f);
  }
  // The vGPU partitions made for its VMs (after the domains that held them are gone).
  const mdevs = Object.values(state?.vms ?? {}).flatMap((v) => v.mdevs ?? []);
  if (mdevs.length) {
    const live: string[] = [];
    for (const u of mdevs) if (await mdevExists(u, env.hostRoots)) live.push(u);
    const gone = dryRun ? live : await removeMdevs(live, env.hostRoots);
    report.files.push(...gone.map((u) => `mdev ${u}`));
  }
  if (!dryRun) {
    await releaseGpus(env.stateRoot, { cluster });
    await releaseCluster(oenv);
  }
  return report;
}

// ------------------------------------------------------ cluster: status

export interface VmStatus {
  name: string;
  shortName: string;
  state: string;
  uuid?: string;
  ip: string;
  ssh: string;
  specHash?: string;
  pci: string[];
}

export interface ClusterStatus {
  cluster: string;
  uri: string;
  network: { name: string; active: boolean | undefined };
  pool: { name: string; active: boolean | undefined };
  vms: VmStatus[];
}

export async function clusterStatus(cluster: string, env: Pick<ClusterEnv, 'paths' | 'uri'>): Promise<ClusterStatus> {
  const state = await readState(env.paths.stateFile);
  if (!state) throw new PharosError(`cluster ${cluster} has no state (never started, or destroyed)`, { hint: 'pharos cluster start' });
  const names = Object.keys(state.vms);
  const probe = await probeDomains(state.uri, names);
  return {
    cluster,
    uri: state.uri,
    network: { name: state.network, active: await virsh.network.isActive(state.uri, state.network) },
    pool: { name: state.pool, active: await virsh.pool.isActive(state.uri, state.pool) },
    vms: names.map((n) => {
      const v = state.vms[n]!;
      const p = probe.domains.get(n);
      return {
        name: n,
        shortName: v.shortName,
        state: p?.exists ? p.state ?? 'unknown' : 'missing',
        uuid: p?.uuid,
        ip: v.ip,
        ssh: `${v.sshHost}:${v.sshPort}`,
        specHash: p?.specHash,
        pci: v.pci,
      };
    }),
  };
}

// ------------------------------------------------------------ one VM

/** Find a VM by domain name or short name across all clusters' state. */
export async function findVm(stateRoot: string, name: string): Promise<{ state: ClusterState; vm: VmRecord }> {
  const states = await listStates(stateRoot);
  const hits: { state: ClusterState; vm: VmRecord }[] = [];
  for (const s of states) for (const v of Object.values(s.vms)) if (v.name === name || v.shortName === name) hits.push({ state: s, vm: v });
  const exact = hits.filter((h) => h.vm.name === name);
  if (exact.length === 1) return exact[0]!;
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    throw new PharosError(`${name} is ambiguous: ${hits.map((h) => h.vm.name).join(', ')}`, { hint: 'use the full VM name' });
  }
  const all = states.flatMap((s) => Object.keys(s.vms));
  throw new PharosError(`no VM named ${name}`, { hint: all.length ? `known VMs: ${all.join(', ')}` : 'no cluster has been started' });
}

export async function startVm(
  stateRoot: string,
  name: string,
  opts: { waitSsh?: boolean; sshTimeoutMs?: number; owner?: string } = {},
): Promise<{ vm: string; started: boolean; sshReadyMs?: number }> {
  const { state, vm } = await findVm(stateRoot, name);
  await checkClusterOwner(ownerEnv(state.cluster, { stateRoot, owner: opts.owner }), 'starting a VM of');
  await checkGpuOwnership(vm.name, vm.pci, stateRoot);
  const t0 = Date.now();
  const started = await startDomain(state.uri, vm.name);
  await claimGpus(vm.name, state.cluster, state.uri, vm.pci, stateRoot);
  let sshReadyMs: number | undefined;
  if (opts.waitSsh) {
    await waitForSsh(vm.sshHost, vm.sshPort, opts.sshTimeoutMs ?? 600_000);
    sshReadyMs = Date.now() - t0;
  }
  return { vm: vm.name, started, sshReadyMs };
}

/** What `startVm` would do (`pharos -n vm start`), from the domain's live state; changes nothing. */
export async function wouldStartVm(
  stateRoot: string,
  name: string,
  opts: { owner?: string } = {},
): Promise<{ vm: string; action: 'would-start' | 'running' | 'missing'; state: string }> {
  const { state, vm } = await findVm(stateRoot, name);
  await checkClusterOwner(ownerEnv(state.cluster, { stateRoot, owner: opts.owner }), 'starting a VM of');
  const p = (await probeDomains(state.uri, [vm.name])).domains.get(vm.name);
  if (!p?.exists) return { vm: vm.name, action: 'missing', state: 'missing' };
  const st = p.state ?? 'unknown';
  return { vm: vm.name, action: st === 'running' ? 'running' : 'would-start', state: st };
}

export async function stopVm(
  stateRoot: string,
  name: string,
  opts: StopOptions & { owner?: string } = {},
): Promise<{ vm: string; action: StopReport['vms'][number]['action']; ms: number }> {
  const { state, vm } = await findVm(stateRoot, name);
  await checkClusterOwner(ownerEnv(state.cluster, { stateRoot, owner: opts.owner }), 'stopping a VM of');
  if (opts.dryRun) return { vm: vm.name, action: (await wouldStop(state.uri, vm.name)).action, ms: 0 };
  const r = await stopDomain(state.uri, vm.name, opts);
  await releaseGpus(stateRoot, { vm: vm.name });
  return { vm: vm.name, ...r };
}
