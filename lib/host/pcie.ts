/**
 * Passthrough readiness of the PCI devices a config assigns, checked against
 * sysfs: each device exists with the expected ids, the IOMMU is on, vfio is
 * loaded, and every device in its IOMMU group is bound to vfio-pci and given to
 * the same VM (a GPU's audio function shares its group and must travel with it).
 * Every problem carries the exact commands that fix it.
 */
import type { PciDevicePlan, SystemPlan } from '../model.js';
import {
  HOST_GPU_DRIVERS,
  iommuGroupMembers,
  iommuState,
  isBridge,
  listPciDevices,
  normalizePciAddress,
  readPciDevice,
  vfioModules,
  type HostPciDevice,
  type HostRoots,
  type IommuState,
} from './sysfs.js';

export interface PciProblem {
  address: string;
  message: string;
  remediation: string;
}

export interface NodePciCheck {
  node: string;
  devices: { address: string; found: HostPciDevice | undefined }[];
  problems: PciProblem[];
}

function rebindCommands(addr: string): string {
  return [
    `echo ${addr} > /sys/bus/pci/devices/${addr}/driver/unbind`,
    `echo vfio-pci > /sys/bus/pci/devices/${addr}/driver_override`,
    `echo ${addr} > /sys/bus/pci/drivers_probe`,
  ].join('\n');
}

function persistentBinding(devs: HostPciDevice[]): string {
  const ids = [...new Set(devs.map((d) => `${d.vendorId}:${d.deviceId}`))].join(',');
  return [
    `# persistent: bind at boot, before the host driver`,
    `echo 'options vfio-pci ids=${ids}' > /etc/modprobe.d/vfio.conf`,
    `echo 'softdep nvidia pre: vfio-pci' >> /etc/modprobe.d/vfio.conf`,
    `echo 'softdep nouveau pre: vfio-pci' >> /etc/modprobe.d/vfio.conf`,
    `echo 'softdep snd_hda_intel pre: vfio-pci' >> /etc/modprobe.d/vfio.conf`,
    `update-initramfs -u && reboot`,
  ].join('\n');
}

/** Checks the devices one VM gets. `iommu` and `vfio` are shared host facts. */
export async function checkNodeDevices(node: string, devices: PciDevicePlan[], roots: HostRoots = {}): Promise<NodePciCheck> {
  const problems: PciProblem[] = [];
  const wanted = new Set(devices.map((d) => normalizePciAddress(d.address)));
  const found: NodePciCheck['devices'] = [];
  const groupsSeen = new Set<number>();
  for (const d of devices) {
    const addr = normalizePciAddress(d.address);
    const dev = await readPciDevice(addr, roots);
    found.push({ address: addr, found: dev });
    if (!dev) {
      problems.push({
        address: addr,
        message: `${node}: PCI device ${addr} does not exist on this host`,
        remediation: `list the host's devices with \`pharos inventory pcie\` (or \`lspci -nn\`) and fix pci_address in the config`,
      });
      continue;
    }
    if ((d.vendorId && d.vendorId !== dev.vendorId) || (d.deviceId && d.deviceId !== dev.deviceId)) {
      problems.push({
        address: addr,
        message: `${node}: ${addr} is ${dev.vendorId}:${dev.deviceId} (${dev.className}), the config says ${d.vendorId || '????'}:${d.deviceId || '????'}`,
        remediation: `set vendor_id: "${dev.vendorId}" and device_id: "${dev.deviceId}", or correct pci_address`,
      });
    }
    if (d.deviceType === 'gpu' && !/^03/.test(dev.classCode)) {
      problems.push({ address: addr, message: `${node}: ${addr} is a ${dev.className}, not a GPU (class ${dev.classCode})`, remediation: 'check pci_address / device_type' });
    }
    if (d.deviceType === 'audio' && !/^040[13]/.test(dev.classCode)) {
      problems.push({ address: addr, message: `${node}: ${addr} is a ${dev.className}, not an audio device (class ${dev.classCode})`, remediation: 'check pci_address / device_type' });
    }
    if (dev.iommuGroup === undefined) {
      problems.push({ address: addr, message: `${node}: ${addr} has no IOMMU group`, remediation: 'turn the IOMMU on (see the IOMMU check)' });
    } else if (d.iommuGroup !== undefined && d.iommuGroup !== dev.iommuGroup) {
      problems.push({
        address: addr,
        message: `${node}: ${addr} is in IOMMU group ${dev.iommuGroup}, the config says ${d.iommuGroup}`,
        remediation: `set iommu_group: ${dev.iommuGroup} (or remove it; Pharos reads it from sysfs)`,
      });
    }
    if (dev.driver !== 'vfio-pci') {
      const held = dev.driver && HOST_GPU_DRIVERS.test(dev.driver);
      problems.push({
        address: addr,
        message: `${node}: ${addr} is bound to ${dev.driver ?? 'no driver'}${held ? ' (a host driver holds it)' : ''}, not vfio-pci`,
        remediation: `${rebindCommands(addr)}\n${persistentBinding([dev])}`,
      });
    }
    if (dev.iommuGroup === undefined || groupsSeen.has(dev.iommuGroup)) continue;
    groupsSeen.add(dev.iommuGroup);
    for (const m of await iommuGroupMembers(dev.iommuGroup, roots)) {
      if (wanted.has(m)) continue;
      const md = await readPciDevice(m, roots);
      if (!md || isBridge(md.classCode)) continue;
      const bound = md.driver === 'vfio-pci';
      problems.push({
        address: m,
        message: `${node}: IOMMU group ${dev.iommuGroup} of ${addr} also holds ${m} (${md.className}, ${md.vendorId}:${md.deviceId}, driver ${md.driver ?? 'none'}) which is not passed through to ${node}`,
        remediation:
          `a whole IOMMU group goes to one VM: add to the node's pcie_passthrough.devices\n` +
          `  - pci_address: "${m}"\n    device_type: "${/^040[13]/.test(md.classCode) ? 'audio' : 'other'}"\n    vendor_id: "${md.vendorId}"\n    device_id: "${md.deviceId}"` +
          (bound ? '' : `\nand bind it to vfio-pci:\n${rebindCommands(m)}`),
      });
    }
  }
  return { node, devices: found, problems };
}

export interface PcieReport {
  iommu: IommuState;
  vfio: { loaded: string[]; missing: string[] };
  nodes: NodePciCheck[];
  /** Host-level problems (IOMMU, modules). */
  problems: PciProblem[];
  ok: boolean;
}

export const IOMMU_REMEDIATION = [
  'enable VT-d (Intel) or AMD-Vi / IOMMU in the firmware setup, then add to the kernel command line:',
  `sed -i 's/^GRUB_CMDLINE_LINUX_DEFAULT="/&intel_iommu=on iommu=pt /' /etc/default/grub   # AMD: amd_iommu=on iommu=pt`,
  'update-grub && reboot',
].join('\n');

export const VFIO_REMEDIATION = [
  'modprobe -a vfio vfio_iommu_type1 vfio_pci',
  "printf 'vfio\\nvfio_iommu_type1\\nvfio_pci\\n' > /etc/modules-load.d/vfio.conf",
].join('\n');

/** Checks every passed-through device of a plan (nothing to do without any). */
export async function checkPlanPcie(plan: SystemPlan, roots: HostRoots = {}): Promise<PcieReport> {
  const iommu = await iommuState(roots);
  const vfio = await vfioModules(roots);
  const problems: PciProblem[] = [];
  const withDevices = plan.clusters.flatMap((c) => c.nodes).filter((n) => n.pcie.length > 0);
  if (withDevices.length && !iommu.enabled) problems.push({ address: '', message: `IOMMU is off: ${iommu.reason}`, remediation: IOMMU_REMEDIATION });
  if (withDevices.length && vfio.missing.length) {
    problems.push({ address: '', message: `vfio modules not loaded: ${vfio.missing.join(', ')}`, remediation: VFIO_REMEDIATION });
  }
  const nodes: NodePciCheck[] = [];
  for (const n of withDevices) nodes.push(await checkNodeDevices(n.name, n.pcie, roots));
  return { iommu, vfio, nodes, problems, ok: problems.length === 0 && nodes.every((n) => n.problems.length === 0) };
}

export interface InventoryRow extends HostPciDevice {
  vfioBound: boolean;
  /** VMs of the plan that are given this device. */
  assignedTo: string[];
  conflicts: string[];
}

/** The host PCI table, with conflicts against an optional plan. */
export async function pciInventory(roots: HostRoots = {}, plan?: SystemPlan): Promise<InventoryRow[]> {
  const devs = await listPciDevices(roots);
  const byAddr = new Map(devs.map((d) => [d.address, d]));
  const assigned = new Map<string, string[]>();
  for (const n of plan?.clusters.flatMap((c) => c.nodes) ?? []) {
    for (const p of n.pcie) {
      const a = normalizePciAddress(p.address);
      assigned.set(a, [...(assigned.get(a) ?? []), n.name]);
    }
  }
  const groups = new Map<number, HostPciDevice[]>();
  for (const d of devs) if (d.iommuGroup !== undefined) groups.set(d.iommuGroup, [...(groups.get(d.iommuGroup) ?? []), d]);
  const rows = devs.map((d): InventoryRow => {
    const conflicts: string[] = [];
    const to = assigned.get(d.address) ?? [];
    if (to.length && d.driver !== 'vfio-pci') conflicts.push(`assigned to ${to.join(', ')} but bound to ${d.driver ?? 'no driver'}`);
    if (d.iommuGroup !== undefined && !isBridge(d.classCode)) {
      const mates = (groups.get(d.iommuGroup) ?? []).filter((m) => m !== d && !isBridge(m.classCode));
      if (to.length) {
        for (const m of mates) if (!(assigned.get(m.address) ?? []).some((v) => to.includes(v))) conflicts.push(`group mate ${m.address} is not assigned with it`);
      }
      if (d.driver === 'vfio-pci') for (const m of mates) if (m.driver && m.driver !== 'vfio-pci') conflicts.push(`group mate ${m.address} is bound to ${m.driver}`);
    }
    return { ...d, vfioBound: d.driver === 'vfio-pci', assignedTo: to, conflicts };
  });
  for (const [a, vms] of assigned) {
    if (!byAddr.has(a)) {
      rows.push({ address: a, vendorId: '', deviceId: '', classCode: '', className: 'missing', driver: undefined, iommuGroup: undefined, vfioBound: false, assignedTo: vms, conflicts: ['assigned in the config but not present on this host'] });
    }
  }
  return rows;
}
