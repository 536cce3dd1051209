/** A node in Slurm's terms: the memory it may claim, the cluster's name, and
 *  its GPUs (types, device files, GRES). */
import { mdevInstances, realGpus, type NodePlan } from '../model.js';

/** One GPU as Slurm sees it. */
export interface GpuDevice {
  type: string;
  file: string;
  /** A whole GPU split into MIG instances in the guest: its GRES are the
   *  instances (`migGres`), not the GPU. */
  mig?: true;
}

/** MIG instances of one profile on a node, as one GRES type. */
export interface MigGres {
  type: string;
  count: number;
}

/** A GRES type name from a MIG profile or an mdev type: Slurm splits
 *  `Gres=name:type:count` on `:` and lists on `,`, so only letters, digits,
 *  `_` and `.` are kept (`1g.10gb` stays, `1g.10gb+me` → `1g.10gb_me`,
 *  `nvidia-558` → `nvidia_558`). */
export function slurmGresType(s: string): string {
  return s.replace(/[^A-Za-z0-9_.]/g, '_');
}

const VENDOR_NAMES: Record<string, string> = { '10de': 'nvidia', '1002': 'amd', '8086': 'intel' };

/** Memory the guest kernel keeps for itself: slurmd reports less than the VM's
 *  size, and a node configured above what slurmd sees is drained as "Low
 *  RealMemory". 5% with a 128 MiB floor leaves 896 of 1024 MiB (a 1 GiB Debian
 *  guest reports about 960). */
export function slurmRealMemory(memoryMiB: number): number {
  return Math.max(1, memoryMiB - Math.max(128, Math.ceil(memoryMiB * 0.05)));
}

/** Slurm lower-cases cluster names; `-` is avoided because slurmdbd builds
 *  table names from it. */
export function slurmClusterName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** The GPUs of a node in Slurm's terms: passed-through GPUs as
 *  `<vendor>_<device>` on `/dev/nvidiaK` (`/dev/dri/renderD(128+K)` for other
 *  vendors), then vGPUs (mediated devices) named by their mdev type on the
 *  next device files, then emulated ones as `emulated` on `/dev/pharos-gpuK`.
 *  A GPU with MIG partitions is marked `mig`. */
export function gpuDevices(node: NodePlan): GpuDevice[] {
  const out: GpuDevice[] = [];
  const real = realGpus(node);
  const migParents = new Set((node.partitions ?? []).flatMap((p) => (p.kind === 'mig' ? [p.parent] : [])));
  real.forEach((d, k) => {
    const vendor = VENDOR_NAMES[d.vendorId.toLowerCase()] ?? d.vendorId.toLowerCase();
    const file = vendor === 'nvidia' ? `/dev/nvidia${k}` : `/dev/dri/renderD${128 + k}`;
    out.push({ type: `${vendor}_${d.deviceId.toLowerCase()}`, file, ...(migParents.has(d.address) ? { mig: true as const } : {}) });
  });
  mdevInstances(node).forEach((m, i) => {
    const k = real.length + i;
    // NVIDIA's vGPU types are named nvidia-N; its guest driver makes /dev/nvidiaK.
    out.push({ type: slurmGresType(m.mdevType), file: m.mdevType.startsWith('nvidia') ? `/dev/nvidia${k}` : `/dev/dri/renderD${128 + k}` });
  });
  for (let k = 0; k < node.emulatedGpus; k++) out.push({ type: 'emulated', file: `/dev/pharos-gpu${k}` });
  return out;
}

/** A node's MIG instances per profile (GRES type), in config order. */
export function migGres(node: NodePlan): MigGres[] {
  const counts = new Map<string, number>();
  for (const p of node.partitions ?? []) if (p.kind === 'mig') counts.set(slurmGresType(p.profile), (counts.get(slurmGresType(p.profile)) ?? 0) + p.count);
  return [...counts].map(([type, count]) => ({ type, count }));
}

/** `gpu:nvidia_2805:1,gpu:emulated:2`: counts per type, in device order; a
 *  GPU split by MIG counts as its instances (`gpu:1g.10gb:3`). */
export function slurmGres(devices: GpuDevice[], mig: MigGres[] = []): string {
  const counts = new Map<string, number>();
  for (const d of devices) if (!d.mig) counts.set(d.type, (counts.get(d.type) ?? 0) + 1);
  for (const m of mig) counts.set(m.type, (counts.get(m.type) ?? 0) + m.count);
  return [...counts].map(([t, n]) => `gpu:${t}:${n}`).join(',');
}

/** gres.conf lines of a node. MIG instances have no device file Pharos can
 *  name (the guest makes them; their /dev/nvidia-caps/nvidia-capN files exist
 *  only then), and Slurm refuses a node whose gpu records mix `File` and no
 *  `File`: so a node with MIG partitions lists every GPU type as a `Count`
 *  without `File` (counted, not bound to jobs' device cgroups), and every
 *  other node is as before. */
export function gresLines(node: NodePlan): string[] {
  const mig = migGres(node);
  const devices = gpuDevices(node).filter((d) => !d.mig);
  if (mig.length === 0) return devices.map((d) => `NodeName=${node.name} Name=gpu Type=${d.type} File=${d.file}`);
  const counts = new Map<string, number>();
  for (const d of devices) counts.set(d.type, (counts.get(d.type) ?? 0) + 1);
  for (const m of mig) counts.set(m.type, (counts.get(m.type) ?? 0) + m.count);
  return [...counts].map(([t, n]) => `NodeName=${node.name} Name=gpu Type=${t} Count=${n}`);
}
