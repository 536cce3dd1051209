/** A node in Slurm's terms: the memory it may claim, the cluster's name, and
 *  its GPUs (types, device files, GRES). */
import { realGpus, type NodePlan } from '../model.js';

/** One GPU as Slurm sees it. */
export interface GpuDevice {
  type: string;
  file: string;
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
 *  vendors), then emulated ones as `emulated` on `/dev/pharos-gpuK`. */
export function gpuDevices(node: NodePlan): GpuDevice[] {
  const out: GpuDevice[] = [];
  const real = realGpus(node);
  real.forEach((d, k) => {
    const vendor = VENDOR_NAMES[d.vendorId.toLowerCase()] ?? d.vendorId.toLowerCase();
    const file = vendor === 'nvidia' ? `/dev/nvidia${k}` : `/dev/dri/renderD${128 + k}`;
    out.push({ type: `${vendor}_${d.deviceId.toLowerCase()}`, file });
  });
  for (let k = 0; k < node.emulatedGpus; k++) out.push({ type: 'emulated', file: `/dev/pharos-gpu${k}` });
  return out;
}

/** `gpu:nvidia_2805:1,gpu:emulated:2`: counts per type, in device order. */
export function slurmGres(devices: GpuDevice[]): string {
  const counts = new Map<string, number>();
  for (const d of devices) counts.set(d.type, (counts.get(d.type) ?? 0) + 1);
  return [...counts].map(([t, n]) => `gpu:${t}:${n}`).join(',');
}

export function gresLines(node: NodePlan): string[] {
  return gpuDevices(node).map((d) => `NodeName=${node.name} Name=gpu Type=${d.type} File=${d.file}`);
}
