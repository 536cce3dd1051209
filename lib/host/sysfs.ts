/**
 * Host PCI facts from sysfs and procfs, with injectable roots so tests run
 * against fake trees: devices, drivers, IOMMU groups, vfio modules, and whether
 * the IOMMU is on. Nothing here writes to the system.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface HostRoots {
  /** Default `/sys`. */
  sysRoot?: string;
  /** Default `/proc`. */
  procRoot?: string;
}

export interface HostPciDevice {
  address: string;
  vendorId: string;
  deviceId: string;
  /** Six hex digits, e.g. `030000`. */
  classCode: string;
  className: string;
  driver: string | undefined;
  iommuGroup: number | undefined;
}

/** Drivers that hold a GPU or its audio function and keep it from vfio. */
export const HOST_GPU_DRIVERS = /^(nvidia.*|nouveau|amdgpu|radeon|snd_hda_.*|i915|xe)$/;

const CLASS_NAMES: Record<string, string> = {
  '0300': 'VGA controller',
  '0302': '3D controller',
  '0380': 'display controller',
  '0403': 'audio device',
  '0401': 'audio device',
  '0200': 'ethernet controller',
  '0207': 'infiniband controller',
  '0280': 'network controller',
  '0106': 'SATA controller',
  '0108': 'NVMe controller',
  '0100': 'SCSI controller',
  '0600': 'host bridge',
  '0601': 'ISA bridge',
  '0604': 'PCI bridge',
  '0c03': 'USB controller',
  '0c05': 'SMBus',
};

export function className(classCode: string): string {
  return CLASS_NAMES[classCode.slice(0, 4)] ?? `class ${classCode}`;
}

/** A PCI-to-PCI bridge or root port: may share a group without being bound to vfio. */
export function isBridge(classCode: string): boolean {
  return classCode.startsWith('0604') || classCode.startsWith('0600');
}

async function readHex(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim().replace(/^0x/i, '').toLowerCase();
  } catch {
    return undefined;
  }
}

async function linkBase(path: string): Promise<string | undefined> {
  try {
    return basename(await readlink(path));
  } catch {
    return undefined;
  }
}

function sys(r: HostRoots): string {
  return r.sysRoot ?? '/sys';
}
function proc(r: HostRoots): string {
  return r.procRoot ?? '/proc';
}

/** Normalises `1:00.0` / `0000:01:00.0` / upper case to `0000:01:00.0`. */
export function normalizePciAddress(a: string): string {
  const s = a.toLowerCase();
  return /^[0-9a-f]{4}:/.test(s) ? s : `0000:${s}`;
}

export async function readPciDevice(address: string, roots: HostRoots = {}): Promise<HostPciDevice | undefined> {
  const addr = normalizePciAddress(address);
  const dir = join(sys(roots), 'bus', 'pci', 'devices', addr);
  const vendor = await readHex(join(dir, 'vendor'));
  if (vendor === undefined) return undefined;
  const classCode = ((await readHex(join(dir, 'class'))) ?? '').padStart(6, '0');
  const group = await linkBase(join(dir, 'iommu_group'));
  return {
    address: addr,
    vendorId: vendor,
    deviceId: (await readHex(join(dir, 'device'))) ?? '',
    classCode,
    className: className(classCode),
    driver: await linkBase(join(dir, 'driver')),
    iommuGroup: group !== undefined && /^\d+$/.test(group) ? Number(group) : undefined,
  };
}

export async function listPciDevices(roots: HostRoots = {}): Promise<HostPciDevice[]> {
  let names: string[];
  try {
    names = await readdir(join(sys(roots), 'bus', 'pci', 'devices'));
  } catch {
    return [];
  }
  const out: HostPciDevice[] = [];
  for (const n of names.sort()) {
    const d = await readPciDevice(n, roots);
    if (d) out.push(d);
  }
  return out;
}

/** Addresses of every device in IOMMU group `group`. */
export async function iommuGroupMembers(group: number, roots: HostRoots = {}): Promise<string[]> {
  try {
    return (await readdir(join(sys(roots), 'kernel', 'iommu_groups', String(group), 'devices'))).sort();
  } catch {
    return [];
  }
}

export interface IommuState {
  enabled: boolean;
  /** Kernel command line flags that turn it on, as found. */
  cmdlineFlags: string[];
  groupCount: number;
  reason: string;
}

export async function iommuState(roots: HostRoots = {}): Promise<IommuState> {
  const cmdline = await readFile(join(proc(roots), 'cmdline'), 'utf8').catch(() => '');
  const flags = cmdline.split(/\s+/).filter((f) => /^(intel_iommu=on|amd_iommu=on|iommu=pt|iommu=on|amd_iommu=force_isolation)$/.test(f));
  const groups = await readdir(join(sys(roots), 'kernel', 'iommu_groups')).catch(() => [] as string[]);
  // Groups are the proof: AMD enables its IOMMU without any flag.
  const enabled = groups.length > 0;
  const reason = enabled
    ? `${groups.length} IOMMU groups${flags.length ? ` (${flags.join(' ')})` : ''}`
    : flags.length
      ? `kernel command line has ${flags.join(' ')} but /sys/kernel/iommu_groups is empty (IOMMU off in firmware: enable VT-d / AMD-Vi)`
      : 'no IOMMU groups and no intel_iommu=on / amd_iommu=on on the kernel command line';
  return { enabled, cmdlineFlags: flags, groupCount: groups.length, reason };
}

export const VFIO_MODULES = ['vfio', 'vfio_iommu_type1', 'vfio_pci'] as const;

/** vfio modules present (loaded or built in: both appear under /sys/module). */
export async function vfioModules(roots: HostRoots = {}): Promise<{ loaded: string[]; missing: string[] }> {
  const mods = new Set(await readdir(join(sys(roots), 'module')).catch(() => [] as string[]));
  const loaded = VFIO_MODULES.filter((m) => mods.has(m));
  return { loaded, missing: VFIO_MODULES.filter((m) => !mods.has(m)) };
}
