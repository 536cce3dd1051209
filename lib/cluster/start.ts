/**
 * `startCluster`: converge the whole cluster under one undo stack (see ops.ts).
 */
import { readFile, rm } from 'node:fs/promises';
import type { ClusterPlan, NodePlan } from '../model.js';
import { PharosError } from '../errors.js';
import { poolName } from '../libvirt/pool.js';
import { probeDomains } from '../libvirt/probe.js';
import { writeState, type ClusterState, type VmRecord } from './state.js';
import { sshPorts } from './ports.js';
import { ensureClusterKey } from './identity.js';
import { claimCluster, releaseCluster } from './owners.js';
import { convergeVm, vmReady } from './vm.js';
import { type Action, type ClusterEnv, type EnsureResult, type NodeImage, ownerEnv } from './env.js';
import { ensureNetwork, removeNetwork } from './network.js';
import { ensurePool, removePool } from './pool.js';
import { exists, UndoStack } from './undo.js';
import { probeCluster } from './probe.js';

export interface StartOptions {
  /** Wait for every started VM's SSH banner (default true). */
  waitSsh?: boolean;
  sshTimeoutMs?: number;
  /** Pin host keys announced on the console for VMs not yet pinned (default true). */
  pinHostKeys?: boolean;
  hostKeyTimeoutMs?: number;
  /** Called before each domain definition (tests inject failures here). */
  beforeDefine?: (node: NodePlan, index: number) => void | Promise<void>;
}

export interface VmReport {
  name: string;
  disk: Action;
  domain: Action;
  /** Still runs an older definition (a VM without auto_start is never restarted for it). */
  restartNeeded: boolean;
  /** Restarted by this run because its definition or disk changed while it ran. */
  restarted: boolean;
  specHash: string;
  started: boolean;
  sshHost: string;
  sshPort: number;
  sshReadyMs?: number;
  message: string;
}

export interface StartReport {
  cluster: string;
  network: EnsureResult;
  pool: EnsureResult;
  vms: VmReport[];
  ms: number;
}

/**
 * Converge the whole cluster: key pair, network, pool, then each VM through
 * `convergeVm` (overlay, domain, start or restart when its definition or disk
 * changed while it ran, state record), then wait for SSH and pin host keys of
 * all started VMs at once. Every step pushes its undo onto this run's stack: on
 * failure, everything this run created is undone in reverse and the error is
 * rethrown.
 */
export async function startCluster(plan: ClusterPlan, images: Record<string, NodeImage>, env: ClusterEnv, opts: StartOptions = {}): Promise<StartReport> {
  const t0 = Date.now();
  const undo = new UndoStack();
  const log = env.log;
  const prevStateText = await readFile(env.paths.stateFile, 'utf8').catch(() => undefined);
  try {
    const owned = await claimCluster(ownerEnv(plan.name, env), 'starting');
    if (owned !== 'ours') undo.push(`owner record of ${plan.name}`, () => releaseCluster(ownerEnv(plan.name, env)));
    if (!(await exists(env.paths.stateDir))) {
      undo.push(`state directory ${env.paths.stateDir}`, () => rm(env.paths.stateDir, { recursive: true, force: true }));
    }
    const key = await ensureClusterKey(env.paths, `pharos-${plan.name}`);
    if (key.created) undo.push(`ssh key of ${plan.name}`, () => rm(env.paths.sshDir, { recursive: true, force: true }));

    if (env.domainType === 'qemu' && ['host-passthrough', 'host-model', 'host'].includes(plan.cpu.model)) {
      log(`TCG: CPU model ${plan.cpu.model} needs KVM; VMs get QEMU's "max" CPU (everything TCG emulates) instead`);
    }
    // state.json is written as the network, the pool and each VM converge; a
    // failed run puts back what was there.
    undo.push(`state of ${plan.name}`, async () => {
      if (prevStateText === undefined) await rm(env.paths.stateFile, { force: true });
      else await writeState(env.paths.stateFile, JSON.parse(prevStateText) as ClusterState);
    });
    const net = await ensureNetwork(plan, env);
    log(net.message);
    if (net.action === 'created') undo.push(`network ${plan.network.libvirtName}`, () => removeNetwork(env.uri, plan.network.libvirtName));

    if (!(await exists(env.paths.consoleDir))) {
      undo.push(`console directory ${env.paths.consoleDir}`, () => rm(env.paths.consoleDir, { recursive: true, force: true }));
    }
    const pool = await ensurePool(plan, env);
    log(pool.message);
    if (pool.action === 'created') undo.push(`pool ${poolName(plan.name)}`, () => removePool(env.uri, poolName(plan.name)));
    if (pool.createdDir) undo.push(`directory ${pool.dir}`, () => rm(pool.dir, { recursive: true, force: true }));

    // The same port policy as the vm:<name> targets (ports.ts).
    const ports = plan.network.mode === 'user' ? await sshPorts(plan.nodes, env) : new Map<string, number>();

    const probe = await probeDomains(env.uri, plan.nodes.map((n) => n.name));
    const reports: VmReport[] = [];
    const records: VmRecord[] = [];
    // One VM at a time up to its start (each step's undo lands on this run's
    // stack), then all of them wait for SSH together.
    for (const [i, node] of plan.nodes.entries()) {
      const image = images[node.name];
      if (!image) throw new PharosError(`no image given for node ${node.name}`);
      const r = await convergeVm(plan, node, image, env, {
        sshPort: ports.get(node.name),
        publicKey: key.publicKey,
        probe: probe.domains.get(node.name) ?? { exists: false },
        undo,
        beforeDefine: opts.beforeDefine ? () => opts.beforeDefine!(node, i) : undefined,
        ready: false,
      });
      records.push(r.record);
      reports.push({
        name: node.name,
        disk: r.disk,
        domain: r.domain,
        restartNeeded: r.restartNeeded,
        restarted: r.restarted,
        specHash: r.record.specHash ?? '',
        started: r.started,
        sshHost: r.record.sshHost,
        sshPort: r.record.sshPort,
        message: r.message,
      });
    }
    await Promise.all(
      plan.nodes.map(async (node, i) => {
        if (!node.autoStart) return;
        const waited = await vmReady(node, records[i]!, env, {
          waitSsh: opts.waitSsh,
          sshTimeoutMs: opts.sshTimeoutMs,
          pinHostKeys: opts.pinHostKeys,
          hostKeyTimeoutMs: opts.hostKeyTimeoutMs,
        });
        if (waited !== undefined) reports[i]!.sshReadyMs = Date.now() - t0;
      }),
    );
    return { cluster: plan.name, network: net, pool, vms: reports, ms: Date.now() - t0 };
  } catch (e) {
    const failed = await undo.run(log);
    if (failed.length && e instanceof PharosError) {
      throw new PharosError(`${e.message}\nrollback incomplete:\n  ${failed.join('\n  ')}`, { hint: `clean up with: pharos cluster destroy ${plan.name}` });
    }
    throw e;
  }
}

/** What `startCluster` would do (`pharos -n cluster start`): nothing is created, allocated or started. */
export interface StartPlan {
  cluster: string;
  network: { name: string; action: 'create' | 'start' | 'none' };
  pool: { name: string; action: 'create' | 'start' | 'none' };
  vms: { name: string; action: 'create' | 'converge' | 'none'; reason?: string; autoStart: boolean }[];
}

export async function planStart(plan: ClusterPlan, images: Record<string, NodeImage>, env: ClusterEnv): Promise<StartPlan> {
  const pr = await probeCluster(plan, images, env);
  const obj = (o: { exists: boolean; active: boolean }): 'create' | 'start' | 'none' => (!o.exists ? 'create' : o.active ? 'none' : 'start');
  return {
    cluster: plan.name,
    network: { name: pr.network.name, action: obj(pr.network) },
    pool: { name: pr.pool.name, action: obj(pr.pool) },
    vms: plan.nodes.map((n) => {
      const v = pr.vms.get(n.name)!;
      const action = !v.exists ? 'create' : v.upToDate ? 'none' : 'converge';
      return { name: n.name, action, ...(action === 'converge' && v.stale ? { reason: v.stale } : {}), autoStart: n.autoStart };
    }),
  };
}
