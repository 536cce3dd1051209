/**
 * One VM's convergence, as the `vm:<name>` target runs it: overlay disk,
 * domain definition (redefined when its spec hash differs), start when
 * `autoStart` (a running VM on an old definition is restarted, saying so), SSH
 * readiness, host keys pinned from the serial console, and the VM's record in
 * the cluster's state.json. What this call created is undone, newest first,
 * when a later step fails, so a failed VM leaves nothing half-made behind.
 *
 * Several VM targets of one cluster run at once in one process: state.json is
 * updated under an in-process lock (read, change one record, write atomically).
 */
import { rm } from 'node:fs/promises';
import type { ClusterPlan, NodePlan } from '../model.js';
import { PharosError } from '../errors.js';
import * as virsh from '../tools/virsh.js';
import { macFor } from '../libvirt/alloc.js';
import { probeDomains, type DomainProbe } from '../libvirt/probe.js';
import { isPinned, pinHost, pinPatterns, unpinHost, waitForHostKeys } from './identity.js';
import {
  UndoStack,
  buildDomainSpec,
  checkGpuOwnership,
  claimGpus,
  ensureDisk,
  ensureDomain,
  newState,
  startDomain,
  stopDomain,
  waitForSsh,
  type ClusterEnv,
  type NodeImage,
} from './ops.js';
import { readState, writeState, type ClusterState, type VmRecord } from './state.js';

const stateLocks = new Map<string, Promise<unknown>>();

/** Read-modify-write of a cluster's state.json, serialised within this process. */
export async function updateState<T>(plan: ClusterPlan, env: ClusterEnv, change: (s: ClusterState) => T | Promise<T>): Promise<T> {
  const file = env.paths.stateFile;
  const prev = stateLocks.get(file) ?? Promise.resolve();
  const next = prev.then(async () => {
    const s = (await readState(file)) ?? newState(plan, env);
    const r = await change(s);
    s.uri = env.uri;
    s.networkMode = plan.network.mode;
    s.network = plan.network.libvirtName;
    await writeState(file, s);
    return r;
  });
  stateLocks.set(file, next.catch(() => undefined));
  return next;
}

export interface ConvergeVmOptions {
  /** Forwarded SSH port on 127.0.0.1 (user network mode). */
  sshPort?: number;
  /** The cluster's public key, authorized for root in the guest. */
  publicKey: string;
  /** Live state from a batched probe (saves a virsh call). */
  probe?: DomainProbe;
  sshTimeoutMs?: number;
  hostKeyTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface ConvergeVmResult {
  record: VmRecord;
  /** What changed, in words, for the log and the summary. */
  actions: string[];
  started: boolean;
  restarted: boolean;
}

export async function convergeVm(plan: ClusterPlan, node: NodePlan, image: NodeImage, env: ClusterEnv, o: ConvergeVmOptions): Promise<ConvergeVmResult> {
  const undo = new UndoStack();
  const log = env.log;
  const actions: string[] = [];
  const user = plan.network.mode === 'user';
  if (user && o.sshPort === undefined) throw new PharosError(`no SSH port allocated for ${node.name}`);
  const ep = user ? { host: '127.0.0.1', port: o.sshPort ?? 0 } : { host: node.ip, port: 22 };
  try {
    const disk = await ensureDisk(node, image.image, env);
    log(disk.message);
    if (disk.action !== 'unchanged') {
      actions.push(`disk ${disk.action}`);
      undo.push(`disk ${disk.path}`, () => rm(disk.path, { force: true }));
    }
    const spec = buildDomainSpec(plan, env, { node, image, disk: disk.path, sshPort: o.sshPort, authorizedKey: o.publicKey });
    const p = o.probe ?? (await probeDomains(env.uri, [node.name])).domains.get(node.name) ?? { exists: false };
    const oldXml = p.exists ? await virsh.domain.dumpxml(env.uri, node.name, true) : undefined;
    const d = await ensureDomain(spec, env, p);
    log(d.message);
    if (d.action === 'created') undo.push(`domain ${node.name}`, () => virsh.domain.undefine(env.uri, node.name).then(() => undefined));
    if (d.action === 'redefined' && oldXml) undo.push(`definition of ${node.name}`, () => virsh.domain.define(env.uri, oldXml));
    if (d.action !== 'unchanged') actions.push(`domain ${d.action}`);
    if (d.action === 'created' || disk.action !== 'unchanged') {
      // A new VM or disk means new host keys: forget the old pin, pin anew at boot.
      await unpinHost(env.paths.knownHosts, pinPatterns(ep.host, ep.port, node.name));
    }

    let started = false;
    let restarted = false;
    if (node.autoStart) {
      const pci = node.pcie.map((x) => x.address);
      await checkGpuOwnership(node.name, pci, env.stateRoot);
      if (d.restartNeeded || disk.action !== 'unchanged') {
        log(`restarting ${node.name}: ${d.restartNeeded ? 'its definition changed' : 'its disk was recreated'} while it ran`);
        await stopDomain(env.uri, node.name, { timeoutMs: 60_000 });
        restarted = true;
        actions.push('restarted');
      }
      started = await startDomain(env.uri, node.name);
      if (started) {
        if (!restarted) actions.push('started');
        undo.push(`start of ${node.name}`, () => virsh.domain.destroy(env.uri, node.name).then(() => undefined));
        log(`started ${node.name}`);
      }
      await claimGpus(node.name, plan.name, env.uri, pci, env.stateRoot);
      const w = await waitForSsh(ep.host, ep.port, o.sshTimeoutMs ?? 600_000, o.signal);
      log(`${node.name}: SSH answers on ${ep.host}:${ep.port} (${w.banner}) after ${(w.waitedMs / 1000).toFixed(1)} s`);
      const patterns = pinPatterns(ep.host, ep.port, node.name);
      if (!(await isPinned(env.paths.knownHosts, patterns))) {
        const keys = await waitForHostKeys(spec.consoleLog, o.hostKeyTimeoutMs ?? 600_000, node.name);
        await pinHost(env.paths.knownHosts, patterns, keys);
        log(`${node.name}: pinned ${keys.length} host key(s) in ${env.paths.knownHosts}`);
      }
    }
    const uuid = await virsh.domain.uuid(env.uri, node.name);
    const record = await updateState(plan, env, (s) => {
      const rec: VmRecord = {
        name: node.name,
        shortName: node.shortName,
        uuid,
        ip: node.ip,
        mac: node.mac,
        mgmtMac: user ? macFor(node.name, 'mgmt') : undefined,
        sshHost: ep.host,
        sshPort: ep.port,
        disk: disk.path,
        consoleLog: spec.consoleLog,
        pci: node.pcie.map((x) => x.address),
        specHash: d.specHash,
        createdAt: d.action === 'created' ? new Date().toISOString() : s.vms[node.name]?.createdAt,
      };
      s.vms[node.name] = rec;
      return rec;
    });
    return { record, actions, started, restarted };
  } catch (e) {
    const failed = await undo.run(log);
    if (failed.length && e instanceof PharosError) {
      throw new PharosError(`${e.message}\nrollback incomplete:\n  ${failed.join('\n  ')}`, { hint: `clean up with: pharos vm stop ${node.name}` });
    }
    throw e;
  }
}
