/**
 * Where each host GPU is. The config names a node for every passed-through
 * PCI function (`pcie_passthrough`); `pharos gpu move` records a new node for
 * one, machine-wide, in `<state>/gpu-assignments.json`. Every plan Pharos acts
 * on applies the record (`applyGpuAssignments`) before anything reads the
 * nodes' devices — domain XML, Slurm GRES, the GPU images — so a moved GPU
 * stays where it was moved, across builds, until it is moved back.
 *
 * A GPU moves with the other functions of its PCI device (`DDDD:BB:SS.*`,
 * e.g. its HDMI audio function): VFIO gives a VM a whole device, never half.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { PharosError } from '../errors.js';
import type { ClusterPlan, NodePlan, PciDevicePlan, SystemPlan } from '../model.js';
import { writeJsonAtomic } from './state.js';

/** One PCI function's node, when it is not the config's. */
export interface GpuAssignment {
  /** The VM (domain) name of the node that gets it. */
  node: string;
  cluster: string;
  since: string;
}

/** By PCI address (`DDDD:BB:SS.F`, lower case). */
export type GpuAssignments = Record<string, GpuAssignment>;

export function gpuAssignmentsFile(stateRoot: string): string {
  return join(stateRoot, 'gpu-assignments.json');
}

const ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

export async function readGpuAssignments(stateRoot: string): Promise<GpuAssignments> {
  const file = gpuAssignmentsFile(stateRoot);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new PharosError(`${file} is not JSON`, { hint: 'it records `pharos gpu move`; remove it to give every GPU back to the node its config names' });
  }
  const out: GpuAssignments = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [addr, a] of Object.entries(v as Record<string, unknown>)) {
      if (!ADDRESS.test(addr) || !a || typeof a !== 'object') continue;
      const r = a as Record<string, unknown>;
      if (typeof r.node === 'string' && typeof r.cluster === 'string') out[addr] = { node: r.node, cluster: r.cluster, since: typeof r.since === 'string' ? r.since : '' };
    }
  }
  return out;
}

export async function writeGpuAssignments(stateRoot: string, a: GpuAssignments): Promise<void> {
  await writeJsonAtomic(gpuAssignmentsFile(stateRoot), a, false);
}

/** `DDDD:BB:SS` of a function's address: the PCI device it belongs to. */
export function pciDeviceOf(address: string): string {
  return address.slice(0, address.lastIndexOf('.'));
}

export interface GpuPlacement {
  address: string;
  device: PciDevicePlan;
  /** The nodes the config gives it (more than one: a GPU the clusters share, one VM at a time). */
  homes: string[];
  /** The node whose domain has it now: a recorded move, or the config's only home; undefined while shared and never moved. */
  node?: string;
  cluster?: string;
  moved: boolean;
}

/**
 * The plan with the recorded moves applied (a new plan; the given one is not
 * changed): a moved function is on its recorded node only, taken off every
 * other. Records that no longer fit the config (the device or the node is
 * gone from it) are ignored and named in `stale`, so a caller can say so.
 */
export function applyGpuAssignments(plan: SystemPlan, a: GpuAssignments): { plan: SystemPlan; placements: GpuPlacement[]; stale: string[] } {
  const clusters: ClusterPlan[] = plan.clusters.map((c) => ({ ...c, memoryBacking: { ...c.memoryBacking }, nodes: c.nodes.map((n) => ({ ...n, pcie: [...n.pcie] })) }));
  const nodes = clusters.flatMap((c) => c.nodes.map((n) => ({ c, n })));
  const homes = new Map<string, { device: PciDevicePlan; at: { c: ClusterPlan; n: NodePlan }[] }>();
  for (const x of nodes) {
    for (const d of x.n.pcie) {
      const h = homes.get(d.address) ?? { device: d, at: [] };
      h.at.push(x);
      homes.set(d.address, h);
    }
  }
  const stale: string[] = [];
  const placed = new Map<string, { c: ClusterPlan; n: NodePlan }>();
  for (const [addr, r] of Object.entries(a)) {
    const h = homes.get(addr);
    const t = nodes.find((x) => x.n.name === r.node);
    if (!h) stale.push(`${addr}: no node of the config has this device`);
    else if (!t) stale.push(`${addr}: moved to ${r.node}, which the config no longer has`);
    else placed.set(addr, t);
  }
  for (const [addr, t] of placed) {
    const h = homes.get(addr)!;
    for (const x of nodes) if (x.n !== t.n) x.n.pcie = x.n.pcie.filter((d) => d.address !== addr);
    if (!t.n.pcie.some((d) => d.address === addr)) t.n.pcie.push(h.device);
    // Passed-through devices need the guest's memory shareable (as the planner sets for a node with devices).
    t.c.memoryBacking.memfd = true;
  }
  const placements: GpuPlacement[] = [];
  for (const [addr, h] of homes) {
    const t = placed.get(addr) ?? (h.at.length === 1 ? h.at[0] : undefined);
    placements.push({ address: addr, device: h.device, homes: h.at.map((x) => x.n.name), node: t?.n.name, cluster: t?.c.name, moved: placed.has(addr) });
  }
  placements.sort((x, y) => x.address.localeCompare(y.address));
  return { plan: { ...plan, clusters }, placements, stale };
}

/** The plan as Pharos acts on it: the config's, with this machine's GPU moves applied. */
export async function withGpuAssignments(plan: SystemPlan, stateRoot: string): Promise<SystemPlan> {
  return applyGpuAssignments(plan, await readGpuAssignments(stateRoot)).plan;
}

/**
 * The records after moving the PCI device of `address` (every function of it
 * the config knows) to `target`. A function moved to its only config home
 * needs no record and loses it.
 */
export function moveAssignment(current: GpuAssignments, placements: GpuPlacement[], address: string, target: { node: string; cluster: string }, now = new Date()): { next: GpuAssignments; moved: string[] } {
  if (!placements.some((x) => x.address === address)) {
    throw new PharosError(`no node of the config has PCI device ${address}`, { hint: 'pharos gpu status lists the devices and where they are', exitCode: 2 });
  }
  const moved = placements.filter((x) => pciDeviceOf(x.address) === pciDeviceOf(address));
  const next: GpuAssignments = { ...current };
  for (const p of moved) {
    if (p.homes.length === 1 && p.homes[0] === target.node) delete next[p.address];
    else next[p.address] = { node: target.node, cluster: target.cluster, since: now.toISOString() };
  }
  return { next, moved: moved.map((p) => p.address) };
}
