/**
 * Convergence operations on one cluster's libvirt objects — what the `vm:*`,
 * `network:*` and `pool:*` targets and the `pharos cluster|vm` commands call.
 *
 * Each `ensure*` compares the real world with the plan and does the least that
 * makes them equal, reporting what it did. `startCluster` chains them under an
 * undo stack: when any step fails, what THIS run created (networks, pools,
 * overlays, domains, started VMs) is undone in reverse order, so a failed start
 * leaves no orphans and no half-written state. `destroyCluster` is idempotent and
 * removes only what is the cluster's own: domains whose Pharos metadata names it,
 * networks and pools its state records; anything else sharing the `<cluster>-`
 * prefix is reported and left alone. The `ensure*` steps likewise refuse to
 * adopt a same-named object Pharos did not create.
 */
import { mkdir, readFile, rm, stat, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterPlan, NodePlan } from '../model.js';
import { PharosError } from '../errors.js';
import * as virsh from '../tools/virsh.js';
import * as qemuImg from '../tools/qemu-img.js';
import { waitForSsh as waitForSshBanner } from '../tools/ssh.js';
import { domainXml, specHash, type DomainSpec, type DomainNetwork } from '../libvirt/domain.js';
import { networkXml, networkFingerprint } from '../libvirt/network.js';
import { poolName, poolXml } from '../libvirt/pool.js';
import { probeDomains, type DomainProbe } from '../libvirt/probe.js';
import { allocatePorts, macFor } from '../libvirt/alloc.js';
import { renderFirstbootConfig } from '../images/firstboot.js';
import { clusterPaths, defaultDataRoot, defaultStateRoot, type ClusterPaths } from './paths.js';
import {
  listStates,
  newState,
  recordObject,
  recordsObject,
  readGpuOwners,
  readState,
  writeGpuOwners,
  writeState,
  type ClusterState,
  type VmRecord,
} from './state.js';
import { ensureClusterKey } from './identity.js';
import { checkClusterOwner, claimCluster, defaultOwner, ownerPath, readClusterOwner, releaseCluster, type OwnerEnv } from './owners.js';
import { convergeVm, vmReady } from './vm.js';

export type Log = (line: string) => void;

export interface ClusterEnv {
  uri: string;
  cluster: string;
  stateRoot: string;
  dataRoot: string;
  paths: ClusterPaths;
  /** The checkout that owns the cluster name (see owners.ts). */
  owner: string;
  domainType: 'kvm' | 'qemu';
  /** Host CPUs for vCPU pinning (when the plan asks for pinning). */
  hostCpus?: number[];
  log: Log;
}

export interface EnvOptions {
  stateRoot?: string;
  dataRoot?: string;
  /** The owning checkout (default: the one around the working directory). */
  owner?: string;
  /** The doctor's verdict; wins over the plan's `auto`. */
  acceleration?: 'kvm' | 'tcg';
  hostCpus?: number[];
  log?: Log;
}

/**
 * `auto` acceleration needs the doctor's probe (a booted guest), because
 * `/dev/kvm` existing does not mean KVM works (nested KVM is often broken). Without
 * a verdict, `PHAROS_ACCEL=kvm|tcg` decides, else TCG — slower but always works.
 */
export function resolveDomainType(plan: Pick<ClusterPlan, 'acceleration'>, probed?: 'kvm' | 'tcg'): 'kvm' | 'qemu' {
  const env = process.env.PHAROS_ACCEL;
  const a = plan.acceleration !== 'auto' ? plan.acceleration : probed ?? (env === 'kvm' || env === 'tcg' ? env : 'tcg');
  return a === 'kvm' ? 'kvm' : 'qemu';
}

export function clusterEnv(plan: Pick<ClusterPlan, 'name' | 'libvirtUri' | 'acceleration'>, opts: EnvOptions = {}): ClusterEnv {
  const stateRoot = opts.stateRoot ?? defaultStateRoot();
  const dataRoot = opts.dataRoot ?? defaultDataRoot(plan.libvirtUri);
  return {
    uri: plan.libvirtUri,
    cluster: plan.name,
    stateRoot,
    dataRoot,
    paths: clusterPaths(plan.name, stateRoot, dataRoot),
    owner: opts.owner ? ownerPath(opts.owner) : defaultOwner(),
    domainType: resolveDomainType(plan, opts.acceleration),
    hostCpus: opts.hostCpus,
    log: opts.log ?? (() => {}),
  };
}

/** What the owner record needs; `owner` defaults to the checkout around the working directory. */
export type OwnedEnv = Pick<ClusterEnv, 'uri' | 'stateRoot' | 'paths'> & Partial<Pick<ClusterEnv, 'owner' | 'log'>>;

export function ownerEnv(cluster: string, env: Pick<OwnedEnv, 'stateRoot' | 'owner' | 'log'>): OwnerEnv {
  return { stateRoot: env.stateRoot, cluster, owner: env.owner ?? defaultOwner(), log: env.log ?? ((l) => process.stderr.write(`${l}\n`)) };
}

/** What boots a node: the resolved backing image, and optionally a kernel for direct boot. */
export interface NodeImage {
  image: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

export type Action = 'created' | 'redefined' | 'unchanged' | 'started' | 'recreated';

export interface EnsureResult {
  action: Action;
  message: string;
}

export interface DomainResult extends EnsureResult {
  restartNeeded: boolean;
  specHash: string;
}

// ------------------------------------------------------------------ undo

/** Actions to revert, run newest first; failures are logged, not thrown. */
export class UndoStack {
  private readonly steps: { what: string; fn: () => Promise<void> }[] = [];
  push(what: string, fn: () => Promise<void>): void {
    this.steps.push({ what, fn });
  }
  get size(): number {
    return this.steps.length;
  }
  async run(log: Log): Promise<string[]> {
    const failed: string[] = [];
    while (this.steps.length) {
      const s = this.steps.pop()!;
      try {
        await s.fn();
        log(`rolled back: ${s.what}`);
      } catch (e) {
        failed.push(`${s.what}: ${(e as Error).message}`);
      }
    }
    return failed;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!virsh.isNotFound(e) && !/not (active|running)|is not active/i.test((e as Error).message)) throw e;
  }
}

// ------------------------------------------------------------ networks

export async function removeNetwork(uri: string, name: string): Promise<void> {
  const active = await virsh.network.isActive(uri, name);
  if (active === undefined) return;
  if (active) await ignoreNotFound(virsh.network.destroy(uri, name));
  await ignoreNotFound(virsh.network.undefine(uri, name));
}

export async function ensureNetwork(plan: ClusterPlan, env: ClusterEnv): Promise<EnsureResult> {
  const name = plan.network.libvirtName;
  await claimCluster(ownerEnv(plan.name, env), 'changing');
  const want = networkXml(plan);
  const active = await virsh.network.isActive(env.uri, name);
  if (active === undefined) {
    await virsh.network.define(env.uri, want);
    try {
      // Recorded before anything else can fail: destroy removes what state records.
      await recordObject(plan, env, 'network', name);
      await virsh.network.start(env.uri, name);
      await virsh.network.autostart(env.uri, name);
    } catch (e) {
      await ignoreNotFound(virsh.network.undefine(env.uri, name));
      throw e;
    }
    return { action: 'created', message: `network ${name} created (${plan.network.mode}, bridge ${plan.network.bridge})` };
  }
  const have = await virsh.network.dumpxml(env.uri, name);
  if (!recordsObject(await readState(env.paths.stateFile), 'network', name)) {
    // Not ours by the record: identical to what we would define is adopted
    // (changing nothing); anything else is someone else's and left alone.
    if (networkFingerprint(have) !== networkFingerprint(want)) {
      throw new PharosError(`network ${name} exists, and cluster ${plan.name}'s state does not record it: it was not created by pharos`, {
        hint: `pharos changes nothing it did not create: remove or rename it yourself (virsh -c ${env.uri} net-undefine ${name}), or choose another cluster name`,
      });
    }
    await recordObject(plan, env, 'network', name);
  }
  if (networkFingerprint(have) !== networkFingerprint(want)) {
    // Redefining an active network detaches running guests' NICs; the caller's
    // VMs are restarted by their own targets when their spec changed too.
    if (active) await virsh.network.destroy(env.uri, name);
    await virsh.network.undefine(env.uri, name);
    await virsh.network.define(env.uri, want);
    await virsh.network.start(env.uri, name);
    await virsh.network.autostart(env.uri, name);
    return { action: 'redefined', message: `network ${name} redefined (its addresses, bridge or hosts changed)` };
  }
  if (!active) {
    await virsh.network.start(env.uri, name);
    return { action: 'started', message: `network ${name} started` };
  }
  return { action: 'unchanged', message: `network ${name} up to date` };
}

// --------------------------------------------------------------- pools

export async function removePool(uri: string, name: string): Promise<void> {
  const active = await virsh.pool.isActive(uri, name);
  if (active === undefined) return;
  if (active) await ignoreNotFound(virsh.pool.destroy(uri, name));
  await ignoreNotFound(virsh.pool.undefine(uri, name));
}

export async function ensurePool(plan: ClusterPlan, env: ClusterEnv): Promise<EnsureResult & { dir: string; createdDir: boolean }> {
  const name = poolName(plan.name);
  await claimCluster(ownerEnv(plan.name, env), 'changing');
  const dir = env.paths.poolDir;
  const active = await virsh.pool.isActive(env.uri, name);
  if (active !== undefined && !recordsObject(await readState(env.paths.stateFile), 'pool', name)) {
    // Not ours by the record: a pool on our own directory is adopted, any other is left alone.
    const path = /<path>([^<]*)<\/path>/.exec(await virsh.pool.dumpxml(env.uri, name))?.[1];
    if (path !== dir) {
      throw new PharosError(`storage pool ${name} exists (at ${path ?? 'an unknown path'}), and cluster ${plan.name}'s state does not record it: it was not created by pharos`, {
        hint: `pharos changes nothing it did not create: remove or rename it yourself (virsh -c ${env.uri} pool-undefine ${name}), or choose another cluster name`,
      });
    }
  }
  const createdDir = !(await exists(dir));
  await mkdir(dir, { recursive: true });
  // QEMU (libvirt-qemu under qemu:///system) must traverse to the overlays.
  await chmod(dir, 0o711);
  await mkdir(env.paths.consoleDir, { recursive: true, mode: 0o700 });
  await recordObject(plan, env, 'pool', name);
  if (active === undefined) {
    await virsh.pool.define(env.uri, poolXml(name, dir));
    await virsh.pool.start(env.uri, name);
    return { action: 'created', message: `pool ${name} created at ${dir}`, dir, createdDir };
  }
  if (!active) {
    await virsh.pool.start(env.uri, name);
    return { action: 'started', message: `pool ${name} started`, dir, createdDir };
  }
  return { action: 'unchanged', message: `pool ${name} up to date`, dir, createdDir };
}

// --------------------------------------------------------------- disks

export function diskPath(env: ClusterEnv, node: Pick<NodePlan, 'name'>): string {
  return join(env.paths.poolDir, `${node.name}.qcow2`);
}

/** Whether the VM's overlay exists on a different backing file than `baseImage`. */
export async function diskNeedsRecreate(node: Pick<NodePlan, 'name'>, baseImage: string, env: ClusterEnv): Promise<boolean> {
  const path = diskPath(env, node);
  if (!(await exists(path))) return false;
  return (await qemuImg.info(path)).backingFilename !== baseImage;
}

/**
 * The VM's overlay on its image: `diskGb` GiB, but never smaller than the
 * image's own virtual size (a guest whose disk is smaller than the filesystem
 * on it fails to boot or corrupts it), so the size is max(disk_gb, image size).
 * An overlay on a different backing file is recreated: the image changed, so the
 * VM must boot the new one (its disk contents are derived, not user data).
 */
export async function ensureDisk(node: Pick<NodePlan, 'name' | 'diskGb'>, baseImage: string, env: ClusterEnv): Promise<EnsureResult & { path: string; sizeBytes: number }> {
  const path = diskPath(env, node);
  if (!(await exists(baseImage))) {
    throw new PharosError(`image for ${node.name} not found: ${baseImage}`, { hint: 'build the image first (pharos build image:…)' });
  }
  const baseSize = (await qemuImg.info(baseImage)).virtualSize;
  const size = Math.max(node.diskGb * 1024 ** 3, baseSize);
  const sizeText = size === node.diskGb * 1024 ** 3 ? `${node.diskGb} GiB` : `${gib(size)} GiB (the image's size; disk_gb is ${node.diskGb})`;
  let action: Action = 'created';
  if (await exists(path)) {
    const info = await qemuImg.info(path);
    if (info.backingFilename === baseImage) {
      if (info.virtualSize < size) {
        try {
          await qemuImg.grow(path, size);
          return { action: 'unchanged', message: `disk ${path} grown to ${sizeText} (the guest grows its filesystem)`, path, sizeBytes: size };
        } catch {
          // Locked by the running VM: it grows on the next run with the VM off.
          return { action: 'unchanged', message: `disk ${path} should grow to ${sizeText}; stop the VM and run again`, path, sizeBytes: info.virtualSize };
        }
      }
      return { action: 'unchanged', message: `disk ${path} up to date`, path, sizeBytes: info.virtualSize };
    }
    await rm(path, { force: true });
    action = 'recreated';
  }
  await qemuImg.createOverlay(path, baseImage, size);
  await ignoreNotFound(virsh.pool.refresh(env.uri, poolName(env.cluster)));
  return { action, message: `disk ${path} ${action} on ${baseImage}, ${sizeText}`, path, sizeBytes: size };
}

function gib(bytes: number): string {
  const g = bytes / 1024 ** 3;
  return Number.isInteger(g) ? String(g) : g.toFixed(2);
}

// ------------------------------------------------------------- domains

export interface SpecInputs {
  node: NodePlan;
  image: NodeImage;
  disk: string;
  sshPort?: number;
  authorizedKey: string;
}

/** Everything that shapes a node's domain, from the plan and what this module allocated. */
export function buildDomainSpec(plan: ClusterPlan, env: ClusterEnv, inp: SpecInputs): DomainSpec {
  const { node } = inp;
  const mgmtMac = macFor(node.name, 'mgmt');
  let network: DomainNetwork;
  if (plan.network.mode === 'user') {
    if (inp.sshPort === undefined) throw new PharosError(`no SSH port allocated for ${node.name}`);
    network = { mode: 'user', network: plan.network.libvirtName, mac: node.mac, mgmtMac, sshPort: inp.sshPort };
  } else {
    network = { mode: 'nat', network: plan.network.libvirtName, mac: node.mac };
  }
  const fw = renderFirstbootConfig({
    // The domain name, as the inventory and Slurm call the node (firstboot
    // re-applies it at every boot, so it must agree with the base role).
    hostname: node.name,
    sshAuthorizedKeys: [inp.authorizedKey],
    clusterIp: `${node.ip}/${plan.network.prefix}`,
    clusterMac: node.mac,
    mgmtMac: plan.network.mode === 'user' ? mgmtMac : undefined,
    // No `hosts=` line: libvirt 9.0 passes fw_cfg strings to QEMU without
    // doubling commas, and that field is comma-separated. /etc/hosts is the
    // inventory's job.
  });
  return {
    name: node.name,
    cluster: plan.name,
    domainType: env.domainType,
    vcpus: node.vcpus,
    memoryMiB: node.memoryMiB,
    cpu: plan.cpu,
    memoryBacking: plan.memoryBacking,
    hostCpus: plan.cpu.pinning ? env.hostCpus : undefined,
    disk: inp.disk,
    kernel: inp.image.kernel,
    initrd: inp.image.initrd,
    cmdline: inp.image.cmdline,
    network,
    pcie: node.pcie,
    virtiofs: node.virtiofs,
    consoleLog: join(env.paths.consoleDir, `${node.name}.log`),
    fwcfgConfig: fw,
  };
}

/**
 * Define the domain when absent, redefine when its spec hash differs. A running
 * domain keeps running on its old definition: `restartNeeded` tells the caller.
 */
export async function ensureDomain(spec: DomainSpec, env: ClusterEnv, probe?: DomainProbe): Promise<DomainResult> {
  const hash = specHash(spec);
  const p = probe ?? (await probeDomains(env.uri, [spec.name])).domains.get(spec.name) ?? { exists: false };
  if (p.exists && p.cluster !== spec.cluster) {
    throw new PharosError(
      `domain ${spec.name} exists and ${p.cluster ? `belongs to cluster ${p.cluster}` : 'was not created by pharos (no Pharos metadata)'}, not to cluster ${spec.cluster}`,
      { hint: `pharos changes nothing it did not create: remove or rename it yourself (virsh -c ${env.uri} undefine ${spec.name}), or choose another cluster name` },
    );
  }
  if (!p.exists) {
    await virsh.domain.define(env.uri, domainXml(spec));
    return { action: 'created', restartNeeded: false, specHash: hash, message: `domain ${spec.name} defined` };
  }
  if (p.specHash === hash) {
    const stale = p.state === 'running' && p.liveSpecHash !== undefined && p.liveSpecHash !== hash;
    return {
      action: 'unchanged',
      restartNeeded: stale,
      specHash: hash,
      message: stale
        ? `domain ${spec.name} defined up to date, but it still runs an older definition — restart it to apply (pharos vm restart ${spec.name})`
        : `domain ${spec.name} up to date`,
    };
  }
  await virsh.domain.define(env.uri, domainXml(spec, { uuid: p.uuid }));
  const running = p.state === 'running' || p.state === 'paused';
  return {
    action: 'redefined',
    restartNeeded: running,
    specHash: hash,
    message: running
      ? `domain ${spec.name} redefined; it is running the old definition — restart it to apply (pharos vm restart ${spec.name})`
      : `domain ${spec.name} redefined`,
  };
}

/** Start when not running; true when this call started it. */
export async function startDomain(uri: string, name: string): Promise<boolean> {
  const st = await virsh.domain.state(uri, name);
  if (st === undefined) throw new PharosError(`domain ${name} is not defined`, { hint: 'run `pharos cluster start` (or `pharos build`) to create it' });
  if (st === 'running') return false;
  if (st === 'paused') {
    await virsh.virsh(uri, ['resume', name]);
    return true;
  }
  await virsh.domain.start(uri, name);
  return true;
}

export interface StopResult {
  action: 'already-stopped' | 'shutdown' | 'forced' | 'absent';
  ms: number;
}

/** Graceful ACPI shutdown, polled; forced power-off after `timeoutMs`. */
export async function stopDomain(uri: string, name: string, opts: { timeoutMs?: number } = {}): Promise<StopResult> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const st = await virsh.domain.state(uri, name);
  if (st === undefined) return { action: 'absent', ms: 0 };
  if (st === 'shut off' || st === 'crashed') return { action: 'already-stopped', ms: 0 };
  try {
    await virsh.domain.shutdown(uri, name);
  } catch (e) {
    if ((await virsh.domain.state(uri, name)) === 'shut off') return { action: 'shutdown', ms: Date.now() - t0 };
    throw e;
  }
  let delay = 100;
  while (Date.now() - t0 < timeoutMs) {
    const s = await virsh.domain.state(uri, name);
    if (s === undefined || s === 'shut off') return { action: 'shutdown', ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, timeoutMs - (Date.now() - t0)))));
    delay = Math.min(delay * 2, 1000);
  }
  try {
    await virsh.domain.destroy(uri, name);
  } catch (e) {
    if ((await virsh.domain.state(uri, name)) !== 'shut off') throw e;
  }
  return { action: 'forced', ms: Date.now() - t0 };
}

/** Wait until host:port answers with an SSH banner (a forwarded port alone is not enough). */
export async function waitForSsh(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<{ banner: string; waitedMs: number }> {
  return waitForSshBanner({ host, port, timeoutMs, signal });
}

// ------------------------------------------------------------ GPU owners

/** Refuse when another running VM owns one of this VM's PCI functions. */
export async function checkGpuOwnership(vm: string, pci: string[], stateRoot: string): Promise<void> {
  if (pci.length === 0) return;
  const owners = await readGpuOwners(stateRoot);
  for (const addr of pci) {
    const o = owners[addr];
    if (!o || o.vm === vm) continue;
    const st = await virsh.domain.state(o.uri, o.vm).catch(() => undefined);
    if (st === 'running' || st === 'paused') {
      throw new PharosError(`cannot start ${vm}: PCI device ${addr} is in use by running VM ${o.vm} (cluster ${o.cluster})`, {
        hint: `stop it first: pharos vm stop ${o.vm}`,
      });
    }
  }
}

export async function claimGpus(vm: string, cluster: string, uri: string, pci: string[], stateRoot: string): Promise<void> {
  if (pci.length === 0) return;
  const owners = await readGpuOwners(stateRoot);
  for (const addr of pci) owners[addr] = { vm, cluster, uri, since: new Date().toISOString() };
  await writeGpuOwners(stateRoot, owners);
}

export async function releaseGpus(stateRoot: string, match: { vm?: string; cluster?: string }): Promise<void> {
  const owners = await readGpuOwners(stateRoot);
  let changed = false;
  for (const [addr, o] of Object.entries(owners)) {
    if ((match.vm && o.vm === match.vm) || (match.cluster && o.cluster === match.cluster)) {
      delete owners[addr];
      changed = true;
    }
  }
  if (changed) await writeGpuOwners(stateRoot, owners);
}

// ------------------------------------------------------- cluster: probe

export interface VmProbe extends DomainProbe {
  /** Hash of the spec the plan wants now (undefined when it cannot be known yet). */
  wantHash?: string;
  diskExists: boolean;
  /** Defined with the wanted spec, disk present, running when auto_start (and on that definition). */
  upToDate: boolean;
}

export interface ClusterProbe {
  network: { name: string; exists: boolean; active: boolean };
  pool: { name: string; exists: boolean; active: boolean };
  vms: Map<string, VmProbe>;
}

/**
 * Everything the cluster's targets need to decide "up to date?", in ONE virsh
 * call plus a few `stat`s: domains (state, persistent and live spec hash),
 * network and pool. Nothing is created or allocated here: a VM whose SSH port
 * or cluster key does not exist yet is simply not up to date.
 */
export async function probeCluster(plan: ClusterPlan, images: Record<string, NodeImage>, env: ClusterEnv): Promise<ClusterProbe> {
  const netName = plan.network.libvirtName;
  const pName = poolName(plan.name);
  const r = await probeDomains(env.uri, plan.nodes.map((n) => n.name), { networks: [netName], pools: [pName] });
  const state = await readState(env.paths.stateFile);
  const pub = await readFile(env.paths.publicKey, 'utf8').then((t) => t.trim(), () => undefined);
  const vms = new Map<string, VmProbe>();
  for (const node of plan.nodes) {
    const p = r.domains.get(node.name) ?? { exists: false };
    const disk = diskPath(env, node);
    const diskExists = await exists(disk);
    const image = images[node.name];
    const port = state?.vms[node.name]?.sshPort;
    let wantHash: string | undefined;
    if (pub && image && (plan.network.mode === 'nat' || port !== undefined)) {
      wantHash = specHash(buildDomainSpec(plan, env, { node, image, disk, sshPort: port, authorizedKey: pub }));
    }
    const running = p.state === 'running';
    const upToDate =
      p.exists && wantHash !== undefined && p.specHash === wantHash && diskExists && (!node.autoStart || (running && p.liveSpecHash === wantHash));
    vms.set(node.name, { ...p, wantHash, diskExists, upToDate });
  }
  const n = r.networks.get(netName) ?? { exists: false, active: false };
  const pl = r.pools.get(pName) ?? { exists: false, active: false };
  return { network: { name: netName, ...n }, pool: { name: pName, ...pl }, vms };
}

// ------------------------------------------------------- cluster: start

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

    const state = (await readState(env.paths.stateFile)) ?? newState(plan, env);
    let ports = new Map<string, number>();
    if (plan.network.mode === 'user') {
      const taken = new Set<number>();
      for (const s of await listStates(env.stateRoot)) {
        for (const v of Object.values(s.vms)) if (s.cluster !== plan.name || !plan.nodes.some((n) => n.name === v.name)) taken.add(v.sshPort);
      }
      ports = await allocatePorts(
        plan.nodes.map((n) => ({ vm: n.name, recorded: state.vms[n.name]?.sshPort })),
        taken,
      );
    }

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

// ------------------------------------------------------ cluster: stop

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
