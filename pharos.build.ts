/**
 * This repository's build graph: which targets exist for a cluster config.
 *
 *   host:packages ─┬─ image:base ─┬─ image:hpc-controller ─┐
 *   host:libvirtd ─┤              └─ image:hpc-compute ────┤
 *   ssh:<cluster> ─┤                                       ├─ vm:* ─ inventory:<cluster> ─ deploy:<role>… ─ test:<suite>…
 *   network:<c> ───┴─ pool:<c> ────────────────────────────┘
 *
 *   host:packages ─ image:container:<name> (containers/<name>/: mmdebstrap + umoci, OCI archive) ─┐
 *   deploy:container-registry ─────────────────────────────────────── push:<cluster>:<name> ─ test:containers, test:distributed-training
 *   deploy:cloud-node (a cloud cluster) ───────────────────────────── preload:<cluster>:<name> ─ test:cloud-nodes
 *
 * A cloud cluster (Kubernetes) gets the same chain with image:cloud-base (and
 * image:cloud-gpu-worker for GPU workers), deploy:cloud-node and
 * deploy:kubernetes, and the suites whose checks say `# @cluster cloud`.
 *
 * Aliases: `cluster` = every deploy and image push (and every VM of clusters
 * without deploy roles), `images`, `vms`, `e2e` = cluster + every suite.
 */
import os from 'node:os';
import path from 'node:path';
import { alias, type Alias, type GraphContext, type GraphDefinition, type Target } from './lib/index.js';
import { loadConfig, planSystem } from './lib/config/index.js';
import { IMAGE_ROLES } from './lib/images/index.js';
import { gpuAssignmentsFile, withGpuAssignments } from './lib/cluster/gpu-assign.js';
import { defaultStateRoot } from './lib/cluster/paths.js';
import { hostTargets } from './tasks/host.js';
import { imageTargets } from './tasks/images.js';
import { containerImageTargets } from './tasks/containers.js';
import { clusterTargets } from './tasks/vms.js';
import { deployTargets } from './tasks/deploy.js';
import { testTargets } from './tasks/tests.js';
import { pushTargets } from './tasks/registry.js';
import { preloadTargets } from './tasks/preload.js';

export default async function graph(ctx: GraphContext): Promise<GraphDefinition> {
  const loaded = await loadConfig(ctx.configPath, { env: ctx.env, root: ctx.root });
  // This machine's GPU moves (`pharos gpu move`) apply before anything reads the nodes' devices.
  const system = await withGpuAssignments(planSystem(loaded, { env: ctx.env }), defaultStateRoot());
  const first = system.clusters[0];
  const host = hostTargets({
    root: ctx.root,
    libvirtUri: first?.libvirtUri ?? 'qemu:///system',
    acceleration: first?.acceleration ?? 'auto',
  });
  const images = await imageTargets(system, host, ctx.root);
  const containers = await containerImageTargets(ctx.root, host, { mirror: system.baseImage.mirror });
  const stateDir = path.join(ctx.root, '.pharos');

  const targets: Target<unknown>[] = [host.packages, host.libvirtd, host.accel, images.base];
  for (const role of IMAGE_ROLES) {
    const t = images[role];
    if (t) targets.push(t);
  }
  targets.push(...containers.values());

  const clusterMembers: Target<unknown>[] = [];
  const vmMembers: Target<unknown>[] = [];
  const suiteMembers: Target<unknown>[] = [];
  for (const plan of system.clusters) {
    const ct = clusterTargets(plan, host, images, ctx.root);
    const vms = [...ct.vms.values()];
    targets.push(ct.keys, ct.network, ct.pool, ...vms);
    vmMembers.push(...vms);
    const deploys = deployTargets(ct, stateDir);
    if (deploys.roles.length === 0) {
      clusterMembers.push(...vms);
      continue;
    }
    targets.push(deploys.inventory, ...deploys.roles);
    clusterMembers.push(...deploys.roles);
    const registryDeploy = deploys.roles.find((r) => r.name === 'deploy:container-registry');
    const pushes = registryDeploy ? pushTargets(ct, containers, registryDeploy) : [];
    // A cloud cluster has no registry: its images go straight into containerd.
    const runtime = deploys.roles.find((r) => r.name === 'deploy:cloud-node');
    const preloads = runtime ? preloadTargets(ct, containers, runtime) : [];
    targets.push(...pushes, ...preloads);
    clusterMembers.push(...pushes, ...preloads);
    const suites = await testTargets(ctx.root, stateDir, ct, deploys, pushes, preloads);
    targets.push(...suites);
    suiteMembers.push(...suites);
  }

  const aliases: Alias[] = [
    alias('cluster', clusterMembers, 'the whole cluster: images, VMs, every deploy role, the container images in its registry'),
    alias('images', targets.filter((t) => t.name.startsWith('image:')), 'every image: VM images and container images'),
    alias('vms', vmMembers, 'every VM, started and reachable over SSH'),
    alias('e2e', [...clusterMembers, ...suiteMembers], 'the cluster and every suite run against it'),
  ];
  // Each TCG VM needs about its memory plus QEMU's own; leave 2 GiB to the host.
  const vmSlots = Math.max(1, Math.min(8, Math.floor((os.totalmem() / 2 ** 30 - 2) / 1.5)));
  // Deploys on disjoint hosts run side by side (tasks/host-locks.ts keeps the others apart).
  // The user's job scripts are read into the plan (and the inventory): an edit
  // under `pharos watch` reloads the graph like a config edit.
  const readFiles = [
    ...system.clusters.flatMap((c) => [...(c.slurm?.prolog ?? []), ...(c.slurm?.epilog ?? [])].map((s) => s.path)),
    gpuAssignmentsFile(defaultStateRoot()),
  ];
  return { targets, aliases, pools: { vm: vmSlots, image: 2, deploy: 3, suite: 1 }, readFiles };
}
