/**
 * Rules on `gpu_partitions` the schema cannot express (checked across every
 * node of every cluster of the config):
 * - `count` is at least 1, and `uuids`, when given, has one UUID per count and
 *   no UUID is used twice anywhere;
 * - an mdev parent is never also passed through whole (`pcie_passthrough`) on
 *   any node: a GPU bound to vfio-pci has no vGPU driver to make mdevs with;
 * - a MIG parent is a GPU passed through whole to the same node (the guest
 *   makes the MIG instances), and its profile looks like `1g.10gb` or `1g.10gb+me`.
 */
import type { ErrorDetail } from '../errors.js';
import type { ConfigNode } from './nodes.js';
import type { Path } from './rules.js';

type At = (path: Path, d: Omit<ErrorDetail, 'file' | 'field'>) => ErrorDetail;

export const MIG_PROFILE = /^\d+g\.\d+gb(\+me)?$/;

export function checkGpuPartitions(nodes: readonly ConfigNode[], at: At): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const wholeOn = new Map<string, ConfigNode[]>();
  for (const n of nodes) {
    for (const d of n.pcie) {
      const a = d.pci_address.toLowerCase();
      wholeOn.set(a, [...(wholeOn.get(a) ?? []), n]);
    }
  }
  const uuids = new Map<string, string>();
  for (const n of nodes) {
    n.partitions.forEach((p, i) => {
      const path: Path = [...n.path, 'gpu_partitions', i];
      const parent = p.parent.toLowerCase();
      if (p.count < 1) {
        errors.push(at([...path, 'count'], { message: `count ${p.count} of ${n.name}'s ${p.type} partition on ${parent} is below 1`, expected: 'an integer of at least 1', hint: 'remove the entry to give the node no partition' }));
      }
      if (p.type === 'mdev') {
        const whole = wholeOn.get(parent);
        if (whole) {
          errors.push(at([...path, 'parent'], {
            message: `${parent} is split into mediated devices for ${n.name} and also passed through whole to ${whole.map((w) => w.name).join(', ')}`,
            expected: 'a GPU either passed through whole or split into mdevs',
            hint: `remove ${parent} from pcie_passthrough.devices, or drop this partition`,
          }));
        }
        if (p.uuids !== undefined && p.uuids.length !== p.count) {
          errors.push(at([...path, 'uuids'], { message: `${p.uuids.length} uuids for count ${p.count}`, expected: `${p.count} UUIDs, one per mediated device`, hint: 'or leave uuids out: Pharos derives stable ones' }));
        }
        p.uuids?.forEach((u, k) => {
          const key = u.toLowerCase();
          const prev = uuids.get(key);
          if (prev) errors.push(at([...path, 'uuids', k], { message: `mdev UUID ${key} is also used at ${prev}`, expected: 'a UUID per mediated device' }));
          else uuids.set(key, `${n.name} gpu_partitions[${i}]`);
        });
      } else {
        if (!MIG_PROFILE.test(p.profile)) {
          errors.push(at([...path, 'profile'], {
            message: `\`${p.profile}\` is not a MIG profile name`,
            expected: 'Ng.Mgb or Ng.Mgb+me, e.g. 1g.10gb, 3g.40gb, 1g.10gb+me',
            hint: 'list the GPU\'s profiles with `nvidia-smi mig -lgip`',
          }));
        }
        const gpu = n.pcie.find((d) => d.pci_address.toLowerCase() === parent);
        if (!gpu || gpu.device_type !== 'gpu') {
          errors.push(at([...path, 'parent'], {
            message: `MIG parent ${parent} of ${n.name} is not a GPU passed through to ${n.name}`,
            expected: `${parent} in ${n.name}'s pcie_passthrough.devices with device_type: gpu`,
            hint: 'MIG instances are made inside the guest on a GPU it owns; for MIG-backed vGPU on the host use type: mdev with the MIG-backed mdev_type',
          }));
        }
      }
    });
  }
  return errors;
}
