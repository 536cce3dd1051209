/**
 * A VM's libvirt domain: its spec from the plan, define/redefine by spec hash,
 * start, graceful stop with forced fallback, and SSH banner readiness.
 */
import { join } from 'node:path';
import { mdevInstances, type ClusterPlan, type NodePlan } from '../model.js';
import { PharosError } from '../errors.js';
import * as virsh from '../tools/virsh.js';
import { waitForSsh as waitForSshBanner } from '../ssh/banner.js';
import { domainXml, specHash, type DomainSpec, type DomainNetwork } from '../libvirt/domain.js';
import { probeDomains, type DomainProbe } from '../libvirt/probe.js';
import { renderFirstbootConfig } from '../images/firstboot.js';
import type { ClusterEnv, DomainResult, NodeImage } from './env.js';
import { pollWithBackoff } from '../util/poll.js';

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
  let network: DomainNetwork;
  if (plan.network.mode === 'user') {
    if (inp.sshPort === undefined) throw new PharosError(`no SSH port allocated for ${node.name}`);
    if (node.mgmtMac === undefined) throw new PharosError(`no management MAC planned for ${node.name}`, { hint: 'a user-mode node plan comes from planSystem, which sets mgmtMac' });
    network = { mode: 'user', network: plan.network.libvirtName, mac: node.mac, mgmtMac: node.mgmtMac, sshPort: inp.sshPort };
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
    mgmtMac: network.mode === 'user' ? network.mgmtMac : undefined,
    // No `hosts=` line: libvirt 9.0 passes fw_cfg strings to QEMU without
    // doubling commas, and that field is comma-separated. /etc/hosts is the
    // inventory's job.
  });
  const mdev = mdevInstances(node).map((m) => m.uuid);
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
    // Only what shapes the domain (and its spec hash) as before: `create` and
    // `field` are for the host-side check, not for libvirt.
    virtiofs: node.virtiofs.map(({ create: _c, field: _f, ...m }) => m),
    // Only a node with vGPUs has the field (their devices are made on the host
    // by lib/host/mdev.ts `ensureNodeMdevs`, before the domain starts).
    ...(mdev.length ? { mdev } : {}),
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

const RESEND_MS = 15_000;

/** Graceful ACPI shutdown (pressed again every 15 s), polled; forced power-off after `timeoutMs`. */
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
  // A guest still booting (no ACPI listener yet) drops the press: press again
  // every RESEND_MS while waiting, as a person at the power button would.
  let pressedAt = Date.now();
  const down = await pollWithBackoff(
    async () => {
      const s = await virsh.domain.state(uri, name);
      if (s === undefined || s === 'shut off') return true;
      if (Date.now() - pressedAt >= RESEND_MS) {
        pressedAt = Date.now();
        await virsh.domain.shutdown(uri, name).catch(() => undefined);
      }
      return undefined;
    },
    { timeoutMs: Math.max(0, timeoutMs - (Date.now() - t0)), firstDelayMs: 100, maxDelayMs: 1000 },
  );
  if (down) return { action: 'shutdown', ms: Date.now() - t0 };
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
