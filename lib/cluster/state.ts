/**
 * Cluster state (`state.json`): what Pharos created for a cluster — VMs with
 * UUIDs, forwarded SSH ports, IPs, MACs, disks, GPU claims — so `status`, `ssh`,
 * `destroy` and port allocation work without re-reading the config. Written
 * atomically (temp file + rename) after copying the previous version to
 * `state.json.backup`; a corrupt file falls back to the backup.
 *
 * The GPU ownership record (`<stateRoot>/gpu-owners.json`) is machine-wide:
 * one PCI function belongs to at most one running VM across all clusters.
 */
import { copyFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PharosError } from '../errors.js';
import type { ClusterPlan } from '../model.js';
import { poolName } from '../libvirt/pool.js';
import type { ClusterPaths } from './paths.js';
import { writeFileAtomic } from '../util/atomic.js';

export interface VmRecord {
  name: string;
  shortName: string;
  uuid?: string;
  ip: string;
  mac: string;
  mgmtMac?: string;
  /** Where SSH reaches the VM: 127.0.0.1 + forwarded port (user) or the IP + 22 (nat). */
  sshHost: string;
  sshPort: number;
  disk: string;
  consoleLog: string;
  /** PCI addresses passed through (the VM owns them while running). */
  pci: string[];
  /** UUIDs of the mediated devices (vGPU partitions) Pharos made for it; destroy removes them. */
  mdevs?: string[];
  specHash?: string;
  createdAt?: string;
}

export interface ClusterState {
  version: 1;
  cluster: string;
  uri: string;
  networkMode: 'nat' | 'user';
  network: string;
  pool: string;
  poolDir: string;
  /**
   * Every libvirt network and pool Pharos defined for this cluster (besides
   * `network` and `pool`, the current ones): `destroy` removes exactly what
   * state records, never an object that merely shares the cluster's prefix.
   */
  networks?: string[];
  pools?: string[];
  vms: Record<string, VmRecord>;
  updatedAt: string;
}

export const STATE_VERSION = 1;

function isState(v: unknown): v is ClusterState {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return o.version === STATE_VERSION && typeof o.cluster === 'string' && typeof o.vms === 'object' && o.vms !== null;
}

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'));
}

/** Atomic write: temp file in the same directory, fsync-free rename. */
export async function writeJsonAtomic(file: string, value: unknown, backup = true): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  if (backup) {
    try {
      await copyFile(file, `${file}.backup`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', 0o600);
}

export async function readState(file: string): Promise<ClusterState | undefined> {
  for (const f of [file, `${file}.backup`]) {
    try {
      const v = await readJson(f);
      if (isState(v)) return v;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      // unreadable or corrupt: try the backup
    }
  }
  return undefined;
}

export async function writeState(file: string, state: ClusterState): Promise<void> {
  state.updatedAt = new Date().toISOString();
  await writeJsonAtomic(file, state);
}

/** Every cluster state under stateRoot (for port allocation and leftovers). */
export async function listStates(stateRoot: string): Promise<ClusterState[]> {
  let names: string[] = [];
  try {
    names = await readdir(join(stateRoot, 'clusters'));
  } catch {
    return [];
  }
  const out: ClusterState[] = [];
  for (const n of names) {
    const s = await readState(join(stateRoot, 'clusters', n, 'state.json'));
    if (s) out.push(s);
  }
  return out;
}

/** What `newState` and `updateState` need of a cluster's environment. */
export interface StateEnv {
  uri: string;
  paths: Pick<ClusterPaths, 'stateFile' | 'poolDir'>;
}

export function newState(plan: ClusterPlan, env: StateEnv): ClusterState {
  return {
    version: STATE_VERSION,
    cluster: plan.name,
    uri: env.uri,
    networkMode: plan.network.mode,
    network: plan.network.libvirtName,
    pool: poolName(plan.name),
    poolDir: env.paths.poolDir,
    vms: {},
    updatedAt: new Date().toISOString(),
  };
}

const stateLocks = new Map<string, Promise<unknown>>();

/** Read-modify-write of a cluster's state.json, serialised within this process. */
export async function updateState<T>(plan: ClusterPlan, env: StateEnv, change: (s: ClusterState) => T | Promise<T>): Promise<T> {
  const file = env.paths.stateFile;
  const prev = stateLocks.get(file) ?? Promise.resolve();
  const next = prev.then(async () => {
    const s = (await readState(file)) ?? newState(plan, env);
    const r = await change(s);
    s.uri = env.uri;
    s.networkMode = plan.network.mode;
    s.network = plan.network.libvirtName;
    await writeState(file, s);
    return r;
  });
  stateLocks.set(file, next.catch(() => undefined));
  return next;
}

/** Whether the state records a libvirt network or pool as this cluster's. */
export function recordsObject(s: ClusterState | undefined, kind: 'network' | 'pool', name: string): boolean {
  if (!s) return false;
  return kind === 'network' ? s.network === name || !!s.networks?.includes(name) : s.pool === name || !!s.pools?.includes(name);
}

/** Record a network or pool Pharos defined (or verified as its own) for the cluster. */
export async function recordObject(plan: ClusterPlan, env: StateEnv, kind: 'network' | 'pool', name: string): Promise<void> {
  await updateState(plan, env, (s) => {
    const list = kind === 'network' ? (s.networks ??= []) : (s.pools ??= []);
    if (!list.includes(name)) list.push(name);
  });
}

export async function removeStateDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

// ------------------------------------------------------------ GPU ownership

export interface GpuOwner {
  vm: string;
  cluster: string;
  uri: string;
  since: string;
}

export type GpuOwners = Record<string, GpuOwner>;

export function gpuOwnersFile(stateRoot: string): string {
  return join(stateRoot, 'gpu-owners.json');
}

export async function readGpuOwners(stateRoot: string): Promise<GpuOwners> {
  try {
    const v = await readJson(gpuOwnersFile(stateRoot));
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const out: GpuOwners = {};
      for (const [k, o] of Object.entries(v as Record<string, unknown>)) {
        if (o && typeof o === 'object') {
          const r = o as Record<string, unknown>;
          if (typeof r.vm === 'string' && typeof r.cluster === 'string' && typeof r.uri === 'string') {
            out[k] = { vm: r.vm, cluster: r.cluster, uri: r.uri, since: typeof r.since === 'string' ? r.since : '' };
          }
        }
      }
      return out;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new PharosError(`cannot read ${gpuOwnersFile(stateRoot)}: ${(e as Error).message}`, {
        hint: `fix or delete the file (it is rebuilt from running VMs on the next start)`,
      });
    }
  }
  return {};
}

export async function writeGpuOwners(stateRoot: string, owners: GpuOwners): Promise<void> {
  await writeJsonAtomic(gpuOwnersFile(stateRoot), owners, false);
}
