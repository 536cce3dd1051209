/**
 * Cluster machine targets, per cluster: `ssh:<cluster>` (key pair),
 * `network:<cluster>`, `pool:<cluster>` and one `vm:<domain>` per node.
 *
 * Every live resource has a probe; all probes of one cluster share ONE batched
 * `virsh` call (ProbeContext.once). A VM deleted or stopped by hand, or whose
 * definition no longer carries the spec hash we recorded, is a miss and the next
 * build converges it again.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { target, type Target } from '../lib/index.js';
import type { ClusterPlan, NodePlan } from '../lib/model.js';
import { clusterEnv, convergeVm, vmFreshness, ensureClusterKey, ensureNetwork, ensurePool, stageImage, type ClusterEnv, type NodeImage } from '../lib/cluster/index.js';
import { sshPortFor } from '../lib/cluster/ports.js';
import { KERNEL_CMDLINE } from '../lib/images/base.js';
import { networkXml } from '../lib/libvirt/network.js';
import { poolName } from '../lib/libvirt/pool.js';
import { probeDomains, type ProbeResult } from '../lib/libvirt/probe.js';
import type { HostTargets } from './host.js';
import type { ImageOut, ImageTargets } from './images.js';

export interface KeysOut {
  privateKey: string;
  publicKey: string;
  knownHosts: string;
}

export interface VmOut {
  name: string;
  shortName: string;
  uuid?: string;
  sshHost: string;
  sshPort: number;
  specHash?: string;
  /** Changes whenever the VM is a new machine (new domain or new disk), so
   *  deploys re-run on it; a mere restart keeps it. */
  instance: string;
  running: boolean;
}

export interface ClusterTargets {
  plan: ClusterPlan;
  keys: Target<KeysOut>;
  network: Target<{ name: string }>;
  pool: Target<{ name: string }>;
  vms: Map<string, Target<VmOut>>;
  env: (accel?: 'kvm' | 'tcg', log?: (l: string) => void) => ClusterEnv;
}

function imageFor(node: NodePlan, images: ImageTargets): Target<ImageOut> | undefined {
  if (node.image.kind !== 'built') return undefined;
  const n = node.image.name;
  return n === 'base' ? images.base : images[n];
}

function nodeImage(img: ImageOut): NodeImage {
  return img.kernel ? { image: img.qcow2, kernel: img.kernel, initrd: img.initrd, cmdline: KERNEL_CMDLINE } : { image: img.qcow2 };
}

/** `owner`: the checkout building the cluster (it owns the cluster name; see lib/cluster/owners.ts). */
export function clusterTargets(plan: ClusterPlan, host: HostTargets, images: ImageTargets, owner?: string): ClusterTargets {
  const env = (accel?: 'kvm' | 'tcg', log?: (l: string) => void): ClusterEnv => clusterEnv(plan, { acceleration: accel, log, owner });
  const paths = env().paths;
  const probeAll = (): Promise<ProbeResult> =>
    probeDomains(plan.libvirtUri, plan.nodes.map((n) => n.name), { networks: [plan.network.libvirtName], pools: [poolName(plan.name)] });
  const probeKey = `virsh-probe:${plan.name}`;

  const keys = target<KeysOut>({
    name: `ssh:${plan.name}`,
    description: `SSH key pair of cluster ${plan.name} (0600) and its pinned known_hosts`,
    params: { cluster: plan.name, dir: paths.sshDir },
    outputFiles: (o) => [o.privateKey, o.publicKey],
    run: async () => {
      await ensureClusterKey(paths, `pharos-${plan.name}`);
      return { privateKey: paths.privateKey, publicKey: paths.publicKey, knownHosts: paths.knownHosts };
    },
  });

  const network = target<{ name: string }, { libvirtd: HostTargets['libvirtd'] }>({
    name: `network:${plan.name}`,
    description: `libvirt network ${plan.network.libvirtName} (${plan.network.mode === 'user' ? 'isolated cluster network' : 'NAT'})`,
    deps: { libvirtd: host.libvirtd },
    params: { xml: networkXml(plan), uri: plan.libvirtUri },
    probe: async (out, p) => {
      const n = (await p.once(probeKey, probeAll)).networks.get(out.name);
      return n?.exists && n.active ? true : `network ${out.name} is ${n?.exists ? 'inactive' : 'gone'}`;
    },
    run: async (ctx) => {
      const r = await ensureNetwork(plan, env(undefined, ctx.log));
      ctx.log(r.message);
      return { name: plan.network.libvirtName };
    },
  });

  const pool = target<{ name: string }, { libvirtd: HostTargets['libvirtd'] }>({
    name: `pool:${plan.name}`,
    description: `libvirt storage pool ${poolName(plan.name)} (${paths.poolDir})`,
    deps: { libvirtd: host.libvirtd },
    params: { dir: paths.poolDir, uri: plan.libvirtUri },
    probe: async (out, p) => {
      const n = (await p.once(probeKey, probeAll)).pools.get(out.name);
      return n?.exists && n.active ? true : `pool ${out.name} is ${n?.exists ? 'inactive' : 'gone'}`;
    },
    run: async (ctx) => {
      const r = await ensurePool(plan, env(undefined, ctx.log));
      ctx.log(r.message);
      return { name: poolName(plan.name) };
    },
  });

  const vms = new Map<string, Target<VmOut>>();
  for (const node of plan.nodes) {
    const image = imageFor(node, images);
    if (!image && node.image.kind === 'built') continue;
    const userImage = node.image.kind === 'path' ? node.image.path : undefined;
    const deps = { image: image ?? images.base, network, pool, keys, accel: host.accel };
    const vm = target<VmOut, typeof deps>({
      name: `vm:${node.name}`,
      description: `VM ${node.name} (${node.role}, ${node.vcpus} vCPU, ${node.memoryMiB} MiB${node.autoStart ? '' : ', not started: auto_start false'})`,
      deps,
      pool: 'vm',
      params: {
        node,
        userImage,
        cluster: { name: plan.name, network: plan.network, cpu: plan.cpu, memoryBacking: plan.memoryBacking, uri: plan.libvirtUri },
      },
      probe: async (out, p) => {
        const d = (await p.once(probeKey, probeAll)).domains.get(node.name);
        const diskExists = await stat(path.join(paths.poolDir, `${node.name}.qcow2`)).then(() => true, () => false);
        return vmFreshness(node, d, out, diskExists);
      },
      run: async (ctx) => {
        const e = env(ctx.deps.accel.acceleration, ctx.log);
        const prev = ctx.previous as VmOut | undefined;
        const sshPort = plan.network.mode === 'user' ? await sshPortFor(node, e, prev?.sshPort) : undefined;
        ctx.phase(node.autoStart ? 'booting' : 'defining');
        const publicKey = (await readFile(ctx.deps.keys.publicKey, 'utf8')).trim();
        const img: NodeImage = userImage ? { image: path.resolve(userImage) } : await stageImage(nodeImage(ctx.deps.image), ctx.deps.image.digest, e.dataRoot);
        const r = await convergeVm(plan, node, img, e, { sshPort, publicKey, signal: ctx.signal });
        if (r.actions.length) ctx.log(`${node.name}: ${r.actions.join(', ')}`);
        const st = await stat(r.record.disk);
        return {
          name: node.name,
          shortName: node.shortName,
          uuid: r.record.uuid,
          sshHost: r.record.sshHost,
          sshPort: r.record.sshPort,
          specHash: r.record.specHash,
          instance: `${r.record.uuid ?? ''}:${st.ino}:${Math.round(st.birthtimeMs)}`,
          running: node.autoStart,
        };
      },
    });
    vms.set(node.name, vm);
  }
  return { plan, keys, network, pool, vms, env };
}
