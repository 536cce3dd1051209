/**
 * GPU partitions on the host, against sysfs with an injectable root (tests run
 * on fake trees): the mdev types a parent offers
 * (`/sys/class/mdev_bus/<parent>/mdev_supported_types/<type>/{name,
 * available_instances,device_api,description,devices/}`, the kernel's
 * vfio-mediated-device ABI), a plan's check against them, and making and
 * removing the mediated devices (`create` takes a UUID; `/sys/bus/mdev/devices/<uuid>/remove` takes 1).
 *
 * MIG cannot be made from sysfs: its instances are made by `nvidia-smi mig
 * -cgi <profile> -C`, inside the guest that owns the GPU (Pharos passes the
 * GPU through whole for MIG). Here a MIG parent is only checked to be an
 * NVIDIA device, and its profile against `nvidia-smi mig -lgip` output when the
 * host can list it (an injected source in tests).
 *
 * Where to call `createMdevs`: on the host, before a domain with mdev hostdevs
 * is defined (libvirt refuses a `<hostdev type='mdev'>` whose UUID does not
 * exist when the domain starts); `removeMdevs` after the domain is undefined.
 */
import { access, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { mdevInstances, type MdevInstance, type NodePlan, type SystemPlan } from '../model.js';
import { PharosError } from '../errors.js';
import { exec } from '../tools/exec.js';
import { normalizePciAddress, readPciDevice, type HostRoots } from './sysfs.js';

export interface MdevType {
  /** Directory name, e.g. `nvidia-558`. */
  id: string;
  name: string | undefined;
  description: string | undefined;
  deviceApi: string;
  available: number;
  /** UUIDs of the devices of this type that exist (its `devices/` directory). */
  instances: string[];
}

export interface PartitionProblem {
  node: string;
  message: string;
  remediation: string;
}

export interface NodePartitionCheck {
  node: string;
  problems: PartitionProblem[];
  /** What is fine but worth saying (MIG is made in the guest; a profile not verified). */
  notes: string[];
  /** A MIG profile could not be checked against the GPU's list. */
  unverified: boolean;
}

/** Text of `nvidia-smi mig -lgip`, or undefined when the host cannot list MIG profiles. */
export type MigProfileSource = () => Promise<string | undefined>;

export interface PartitionCheckOptions extends HostRoots {
  migProfiles?: MigProfileSource;
}

const TYPE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function sys(r: HostRoots): string {
  return r.sysRoot ?? '/sys';
}

async function text(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function typeDir(parent: string, type: string, roots: HostRoots): string {
  // Both come from a validated config; checked again because they become a path.
  if (!TYPE_ID.test(type)) throw new PharosError(`\`${type}\` is not an mdev type name`, { hint: 'letters, digits, _ . - only' });
  return join(sys(roots), 'class', 'mdev_bus', normalizePciAddress(parent), 'mdev_supported_types', type);
}

/** The mdev types `parent` offers; undefined when it is no mdev parent (no vGPU driver holds it). */
export async function mdevTypes(parent: string, roots: HostRoots = {}): Promise<MdevType[] | undefined> {
  const dir = join(sys(roots), 'class', 'mdev_bus', normalizePciAddress(parent), 'mdev_supported_types');
  let ids: string[];
  try {
    ids = (await readdir(dir)).filter((d) => TYPE_ID.test(d)).sort();
  } catch {
    return undefined;
  }
  const out: MdevType[] = [];
  for (const id of ids) {
    const t = join(dir, id);
    const avail = Number(await text(join(t, 'available_instances')));
    out.push({
      id,
      name: await text(join(t, 'name')),
      description: await text(join(t, 'description')),
      deviceApi: (await text(join(t, 'device_api'))) ?? '',
      available: Number.isInteger(avail) && avail >= 0 ? avail : 0,
      instances: (await readdir(join(t, 'devices')).catch(() => [] as string[])).filter((u) => UUID.test(u)).sort(),
    });
  }
  return out;
}

/** Whether the mediated device `uuid` exists. */
export async function mdevExists(uuid: string, roots: HostRoots = {}): Promise<boolean> {
  return UUID.test(uuid) && exists(join(sys(roots), 'bus', 'mdev', 'devices', uuid));
}

/** The type of an existing mediated device (its `mdev_type` link), if readable. */
async function mdevTypeOf(uuid: string, roots: HostRoots): Promise<string | undefined> {
  try {
    return basename(await readlink(join(sys(roots), 'bus', 'mdev', 'devices', uuid, 'mdev_type')));
  } catch {
    return undefined;
  }
}

/** Profile names in `nvidia-smi mig -lgip` output (`|   0  MIG 1g.10gb   19 ...`). */
export function parseMigProfiles(out: string): string[] {
  return [...new Set([...out.matchAll(/\bMIG\s+(\d+g\.\d+gb(?:\+me)?)\b/g)].map((m) => m[1]!))];
}

/** The host's `nvidia-smi mig -lgip`; undefined when nvidia-smi is absent or sees no MIG GPU. */
export const hostMigProfiles: MigProfileSource = async () => {
  try {
    const r = await exec('nvidia-smi', ['mig', '-lgip'], { timeoutMs: 15_000 });
    return r.stdout;
  } catch {
    return undefined;
  }
};

function createCommands(m: MdevInstance[]): string {
  return m.map((i) => `echo ${i.uuid} > /sys/class/mdev_bus/${i.parent}/mdev_supported_types/${i.mdevType}/create`).join('\n');
}

/** Checks every partition of a plan: mdev types exist, speak vfio-pci and have
 *  room for the devices not yet made; MIG parents are NVIDIA GPUs. */
export async function checkPlanPartitions(plan: SystemPlan, opts: PartitionCheckOptions = {}): Promise<NodePartitionCheck[]> {
  const nodes = plan.clusters.flatMap((c) => c.nodes).filter((n) => (n.partitions ?? []).length > 0);
  const checks = new Map<string, NodePartitionCheck>(nodes.map((n) => [n.name, { node: n.name, problems: [], notes: [], unverified: false }]));
  const add = (node: string, message: string, remediation: string): void => void checks.get(node)!.problems.push({ node, message, remediation });

  // mdev: per parent and type over all nodes, since they share the instances.
  const wanted = new Map<string, { parent: string; type: string; users: Map<string, MdevInstance[]> }>();
  for (const n of nodes) {
    for (const m of mdevInstances(n)) {
      const k = `${m.parent}/${m.mdevType}`;
      const w = wanted.get(k) ?? { parent: m.parent, type: m.mdevType, users: new Map() };
      w.users.set(n.name, [...(w.users.get(n.name) ?? []), m]);
      wanted.set(k, w);
    }
  }
  const typesOf = new Map<string, MdevType[] | undefined>();
  for (const w of wanted.values()) {
    if (!typesOf.has(w.parent)) typesOf.set(w.parent, await mdevTypes(w.parent, opts));
    const types = typesOf.get(w.parent);
    const names = [...w.users.keys()];
    if (!types) {
      for (const u of names) {
        add(u, `${w.parent} offers no mediated devices (no /sys/class/mdev_bus/${w.parent})`, `install the GPU vendor's vGPU host driver (NVIDIA vGPU manager) and keep ${w.parent} bound to it, not to vfio-pci; then \`ls /sys/class/mdev_bus/${w.parent}/mdev_supported_types\``);
      }
      continue;
    }
    const t = types.find((x) => x.id === w.type);
    if (!t) {
      const offered = types.map((x) => `${x.id}${x.name ? ` (${x.name})` : ''}`).join(', ') || 'none';
      for (const u of names) add(u, `${w.parent} has no mdev type ${w.type}; it offers: ${offered}`, 'set mdev_type to one of the offered types');
      continue;
    }
    if (t.deviceApi !== 'vfio-pci') {
      for (const u of names) add(u, `mdev type ${w.type} of ${w.parent} has device_api ${t.deviceApi || 'unknown'}, not vfio-pci`, 'choose a type whose device_api is vfio-pci (a PCI device for the guest)');
      continue;
    }
    const all = [...w.users.values()].flat();
    const missing: MdevInstance[] = [];
    for (const m of all) {
      if (t.instances.includes(m.uuid)) continue;
      if (await mdevExists(m.uuid, opts)) {
        const other = await mdevTypeOf(m.uuid, opts);
        if (other !== undefined && other !== w.type) {
          const owner = names.find((u) => w.users.get(u)!.includes(m))!;
          add(owner, `mdev ${m.uuid} exists with type ${other}, not ${w.type}`, `echo 1 > /sys/bus/mdev/devices/${m.uuid}/remove   # then Pharos makes it with ${w.type}`);
        }
        continue;
      }
      missing.push(m);
    }
    if (missing.length > t.available) {
      for (const u of names) {
        add(
          u,
          `${w.parent} ${w.type}${t.name ? ` (${t.name})` : ''}: ${missing.length} mediated device(s) to make, ${t.available} available`,
          `lower count on the nodes using ${w.type} (${names.join(', ')}), or remove unused devices: ls /sys/class/mdev_bus/${w.parent}/mdev_supported_types/${w.type}/devices`,
        );
      }
    } else if (missing.length) {
      for (const u of names) checks.get(u)!.notes.push(`${w.type} on ${w.parent}: ${missing.length} to make (${t.available} available); Pharos writes:\n${createCommands(missing)}`);
    }
  }

  // MIG: an NVIDIA GPU, a profile it has (when listable); made in the guest.
  let profiles: string[] | undefined | null = null;
  for (const n of nodes) {
    for (const p of n.partitions ?? []) {
      if (p.kind !== 'mig') continue;
      const dev = await readPciDevice(p.parent, opts);
      if (!dev) {
        add(n.name, `MIG parent ${p.parent} does not exist on this host`, 'fix parent (and the pcie_passthrough device) in the config; list devices with `pharos inventory pcie`');
        continue;
      }
      if (dev.vendorId !== '10de') {
        add(n.name, `MIG parent ${p.parent} is ${dev.vendorId}:${dev.deviceId} (${dev.className}), not an NVIDIA GPU`, 'MIG is an NVIDIA feature (A100, A30, H100, H200, ...): use an NVIDIA GPU or drop the MIG partition');
        continue;
      }
      if (profiles === null) {
        const out = await (opts.migProfiles ?? hostMigProfiles)();
        profiles = out === undefined ? undefined : parseMigProfiles(out);
      }
      const check = checks.get(n.name)!;
      if (profiles === undefined || profiles.length === 0) {
        check.unverified = true;
        check.notes.push(`MIG ${p.count} × ${p.profile} on ${p.parent}: profile not verified (the host's nvidia-smi lists no MIG profiles; a GPU bound to vfio-pci is invisible to it)`);
      } else if (!profiles.includes(p.profile)) {
        add(n.name, `MIG profile ${p.profile} is not offered by this host's GPUs; they offer: ${profiles.join(', ')}`, 'set profile to one of them (nvidia-smi mig -lgip)');
        continue;
      }
      check.notes.push(`MIG ${p.count} × ${p.profile} on ${p.parent}: made in the guest ${n.name} with \`nvidia-smi -mig 1\` then \`nvidia-smi mig -cgi ${Array(p.count).fill(p.profile).join(',')} -C\``);
    }
  }
  return [...checks.values()];
}

export interface MdevCreateResult {
  created: string[];
  existing: string[];
}

/** Makes the mediated devices that do not exist yet (idempotent). */
export async function createMdevs(instances: readonly MdevInstance[], roots: HostRoots = {}): Promise<MdevCreateResult> {
  const r: MdevCreateResult = { created: [], existing: [] };
  for (const m of instances) {
    if (!UUID.test(m.uuid)) throw new PharosError(`\`${m.uuid}\` is not a lower-case UUID`, { hint: 'mdev UUIDs come from the plan' });
    if (await mdevExists(m.uuid, roots)) {
      r.existing.push(m.uuid);
      continue;
    }
    const create = join(typeDir(m.parent, m.mdevType, roots), 'create');
    if (!(await exists(create))) {
      throw new PharosError(`cannot make mdev ${m.uuid}: ${m.parent} has no mdev type ${m.mdevType}`, { hint: `run \`pharos doctor\`; the types are under /sys/class/mdev_bus/${m.parent}/mdev_supported_types` });
    }
    try {
      await writeFile(create, m.uuid);
    } catch (e) {
      throw new PharosError(`cannot make mdev ${m.uuid} of type ${m.mdevType} on ${m.parent}: ${(e as Error).message}`, {
        hint: 'no instance left (available_instances is 0), or not root; run `pharos doctor`',
      });
    }
    r.created.push(m.uuid);
  }
  return r;
}

/** The mediated devices of a node's plan, made when missing. */
export async function ensureNodeMdevs(node: Pick<NodePlan, 'partitions'>, roots: HostRoots = {}): Promise<MdevCreateResult> {
  return createMdevs(mdevInstances(node), roots);
}

/** Removes the mediated devices that exist; returns the UUIDs removed. */
export async function removeMdevs(uuids: readonly string[], roots: HostRoots = {}): Promise<string[]> {
  const removed: string[] = [];
  for (const u of uuids) {
    if (!(await mdevExists(u, roots))) continue;
    try {
      await writeFile(join(sys(roots), 'bus', 'mdev', 'devices', u, 'remove'), '1');
    } catch (e) {
      throw new PharosError(`cannot remove mdev ${u}: ${(e as Error).message}`, { hint: 'a running VM still holds it: stop the VM first' });
    }
    removed.push(u);
  }
  return removed;
}
