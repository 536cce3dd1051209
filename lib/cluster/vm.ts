/**
 * One VM's convergence, as the `vm:<name>` target and `startCluster` run it:
 * overlay disk, domain definition (redefined when its spec hash differs), start
 * when `autoStart` (a running VM on an old definition or an old disk is
 * restarted, saying so), SSH readiness, host keys pinned from the serial
 * console, and the VM's record in the cluster's state.json. What this call
 * created is undone, newest first, when a later step fails, so a failed VM
 * leaves nothing half-made behind — or, with `undo`, the caller's stack gets
 * the steps, so a failure anywhere in a whole-cluster start undoes them all.
 *
 * Several VM targets of one cluster run at once in one process: state.json is
 * updated through `updateState` (state.ts), serialised within the process.
 */
import { rm } from 'node:fs/promises';
import { mdevInstances, type ClusterPlan, type NodePlan } from '../model.js';
import { PharosError } from '../errors.js';
import * as virsh from '../tools/virsh.js';
import { specHash } from '../libvirt/domain.js';
import { probeDomains, type DomainProbe } from '../libvirt/probe.js';
import { waitForHostKeys } from './identity.js';
import { isPinned, pinHost, pinPatterns, unpinHost } from '../ssh/known-hosts.js';
import { UndoStack } from './undo.js';
import { buildDomainSpec, ensureDomain, startDomain, stopDomain, waitForSsh } from './domain.js';
import { diskNeedsRecreate, ensureDisk } from './disk.js';
import { checkGpuOwnership, claimGpus, makeNodeMdevs } from './gpus.js';
import { ownerEnv, type Action, type ClusterEnv, type NodeImage } from './env.js';
import { updateState, type VmRecord } from './state.js';
import { endpointFor } from './access.js';
import { claimCluster } from './owners.js';
import { ensureVirtiofsDirs } from './virtiofs.js';
import { formatDuration } from '../util/duration.js';

export interface ReadyOptions {
  /** Wait for the guest's SSH banner (default true). */
  waitSsh?: boolean;
  sshTimeoutMs?: number;
  /** Pin the host keys the guest announces on its console, when not pinned yet (default true). */
  pinHostKeys?: boolean;
  hostKeyTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface ConvergeVmOptions extends ReadyOptions {
  /** Forwarded SSH port on 127.0.0.1 (user network mode). */
  sshPort?: number;
  /** The cluster's public key, authorized for root in the guest. */
  publicKey: string;
  /** Live state from a batched probe (saves a virsh call). */
  probe?: DomainProbe;
  /**
   * The caller's undo stack: this call pushes what it creates there and leaves
   * running it to the caller (a whole-cluster start undoes every VM at once).
   * Without it, a failure here undoes this VM's steps before rethrowing.
   */
  undo?: UndoStack;
  /** Called right before the domain is defined (tests inject failures here). */
  beforeDefine?: () => void | Promise<void>;
  /**
   * Wait for SSH and pin host keys inside this call (default true). A caller
   * converging several VMs passes false and runs `vmReady` for all at once.
   */
  ready?: boolean;
}

export interface ConvergeVmResult {
  record: VmRecord;
  /** What changed, in words, for the log and the summary. */
  actions: string[];
  disk: Action;
  domain: Action;
  /** The domain's definition line for the summary (says when it was restarted to apply). */
  message: string;
  /** Still running an older definition (only when not `autoStart`, which restarts it). */
  restartNeeded: boolean;
  started: boolean;
  restarted: boolean;
  /** Milliseconds this call waited for SSH (when it waited). */
  sshWaitMs?: number;
}

/**
 * SSH readiness and host-key pinning of a started VM, from its state record.
 * Returns the milliseconds spent waiting for SSH (undefined when not asked to).
 */
export async function vmReady(node: Pick<NodePlan, 'name'>, rec: Pick<VmRecord, 'sshHost' | 'sshPort' | 'consoleLog'>, env: ClusterEnv, o: ReadyOptions = {}): Promise<number | undefined> {
  let waited: number | undefined;
  if (o.waitSsh ?? true) {
    const w = await waitForSsh(rec.sshHost, rec.sshPort, o.sshTimeoutMs ?? 600_000, o.signal);
    waited = w.waitedMs;
    env.log(`${node.name}: SSH answers on ${rec.sshHost}:${rec.sshPort} (${w.banner}) after ${formatDuration(w.waitedMs)}`);
  }
  if (o.pinHostKeys ?? true) {
    const patterns = pinPatterns(rec.sshHost, rec.sshPort, node.name);
    if (!(await isPinned(env.paths.knownHosts, patterns))) {
      const keys = await waitForHostKeys(rec.consoleLog, o.hostKeyTimeoutMs ?? 600_000, node.name);
      await pinHost(env.paths.knownHosts, patterns, keys);
      env.log(`${node.name}: pinned ${keys.length} host key(s) in ${env.paths.knownHosts}`);
    }
  }
  return waited;
}

export async function convergeVm(plan: ClusterPlan, node: NodePlan, image: NodeImage, env: ClusterEnv, o: ConvergeVmOptions): Promise<ConvergeVmResult> {
  const undo = o.undo ?? new UndoStack();
  const log = env.log;
  const actions: string[] = [];
  const ep = endpointFor(plan.network.mode, node, o.sshPort);
  await claimCluster(ownerEnv(plan.name, env), 'changing');
  try {
    // virtio-fs host directories first: a missing one fails before anything is made.
    const dirs = await ensureVirtiofsDirs(node, undo);
    for (const d of dirs.created) {
      log(`${node.name}: created virtio-fs directory ${d}`);
      actions.push(`created ${d}`);
    }
    const p: DomainProbe = { ...(o.probe ?? (await probeDomains(env.uri, [node.name])).domains.get(node.name) ?? { exists: false }) };
    const wasRunning = p.state === 'running' || p.state === 'paused';
    // A new image for a running VM: its overlay is replaced, which needs the VM
    // off; it is started again below (auto_start) on the new image.
    if (wasRunning && (await diskNeedsRecreate(node, image.image, env))) {
      const st = await stopDomain(env.uri, node.name, { timeoutMs: 60_000 });
      log(`${node.name}: stopped (${st.action}) to move it to the new image ${image.image}`);
      p.state = 'shut off';
    }
    const disk = await ensureDisk(node, image.image, env);
    log(disk.message);
    if (disk.action !== 'unchanged') {
      actions.push(`disk ${disk.action}`);
      undo.push(`disk ${disk.path}`, () => rm(disk.path, { force: true }));
    }
    const spec = buildDomainSpec(plan, env, { node, image, disk: disk.path, sshPort: o.sshPort, authorizedKey: o.publicKey });
    await o.beforeDefine?.();
    // The old definition is fetched only when it is about to be replaced (undo).
    const oldXml = p.exists && p.specHash !== specHash(spec) ? await virsh.domain.dumpxml(env.uri, node.name, true) : undefined;
    const d = await ensureDomain(spec, env, p);
    log(d.message);
    if (d.action === 'created') undo.push(`domain ${node.name}`, () => virsh.domain.undefine(env.uri, node.name).then(() => undefined, ignoreGone));
    if (d.action === 'redefined' && oldXml) undo.push(`definition of ${node.name}`, () => virsh.domain.define(env.uri, oldXml));
    if (d.action !== 'unchanged') actions.push(`domain ${d.action}`);
    if (d.action === 'created' || disk.action !== 'unchanged') {
      // A new VM or disk means new host keys: forget the old pin, pin anew at boot.
      await unpinHost(env.paths.knownHosts, pinPatterns(ep.host, ep.port, node.name));
    }

    let started = false;
    let restarted = false;
    let message = d.message;
    if (node.autoStart) {
      const pci = node.pcie.map((x) => x.address);
      await checkGpuOwnership(node.name, pci, env.stateRoot);
      // vGPU partitions: the mediated devices exist before the domain that names them starts.
      const made = await makeNodeMdevs(node, undo, env.hostRoots);
      if (made.length) {
        log(`${node.name}: made mediated device(s) ${made.join(', ')}`);
        actions.push('mdev created');
      }
      if (wasRunning && (d.restartNeeded || disk.action !== 'unchanged')) {
        // Only a change the running guest cannot see needs a restart: a new
        // definition, or a new overlay (the VM was stopped for it above).
        const why = disk.action !== 'unchanged' ? `its disk was ${disk.action}` : 'its definition changed';
        log(`restarting ${node.name}: ${why} while it ran`);
        await stopDomain(env.uri, node.name, { timeoutMs: 60_000 });
        restarted = true;
        actions.push('restarted');
        message = `${d.message.replace(/;.*$|, but .*$/, '')}; restarted to apply it (${why})`;
      }
      started = await startDomain(env.uri, node.name);
      if (started) {
        if (!restarted) actions.push('started');
        undo.push(`start of ${node.name}`, () => virsh.domain.destroy(env.uri, node.name).then(() => undefined, ignoreGone));
        log(`started ${node.name}`);
      }
      await claimGpus(node.name, plan.name, env.uri, pci, env.stateRoot);
    }
    const uuid = d.action !== 'created' && p.uuid ? p.uuid : await virsh.domain.uuid(env.uri, node.name);
    const mdevs = mdevInstances(node).map((m) => m.uuid);
    const rec: VmRecord = {
      name: node.name,
      shortName: node.shortName,
      uuid,
      ip: node.ip,
      mac: node.mac,
      mgmtMac: spec.network.mode === 'user' ? spec.network.mgmtMac : undefined,
      sshHost: ep.host,
      sshPort: ep.port,
      disk: disk.path,
      consoleLog: spec.consoleLog,
      pci: node.pcie.map((x) => x.address),
      ...(mdevs.length ? { mdevs } : {}),
      specHash: d.specHash,
      createdAt: undefined,
    };
    let sshWaitMs: number | undefined;
    if (node.autoStart && (o.ready ?? true)) sshWaitMs = await vmReady(node, rec, env, o);
    const record = await updateState(plan, env, (s) => {
      const r: VmRecord = { ...rec, createdAt: d.action === 'created' ? new Date().toISOString() : s.vms[node.name]?.createdAt };
      s.vms[node.name] = r;
      return r;
    });
    return {
      record,
      actions,
      disk: disk.action,
      domain: d.action,
      message,
      restartNeeded: d.restartNeeded && !restarted,
      started,
      restarted,
      sshWaitMs,
    };
  } catch (e) {
    if (o.undo) throw e;
    const failed = await undo.run(log);
    if (failed.length && e instanceof PharosError) {
      throw new PharosError(`${e.message}\nrollback incomplete:\n  ${failed.join('\n  ')}`, { hint: `clean up with: pharos vm stop ${node.name}` });
    }
    throw e;
  }
}

/** Undo of something already gone (removed by hand, or by an earlier undo step) is done. */
function ignoreGone(e: unknown): void {
  if (virsh.isNotFound(e) || /not (active|running)|is not active/i.test((e as Error).message)) return;
  throw e;
}
