/**
 * A cluster's environment (`ClusterEnv`: URI, state and data roots, paths,
 * owning checkout, domain type, log) and the result types the operations share.
 */
import type { HostRoots } from '../host/sysfs.js';
import type { ClusterPlan } from '../model.js';
import { clusterPaths, defaultDataRoot, defaultStateRoot, type ClusterPaths } from './paths.js';
import { defaultOwner, ownerPath, type OwnerEnv } from './owners.js';

export type Log = (line: string) => void;

export interface ClusterEnv {
  uri: string;
  cluster: string;
  stateRoot: string;
  dataRoot: string;
  paths: ClusterPaths;
  /** The checkout that owns the cluster name (see owners.ts). */
  owner: string;
  domainType: 'kvm' | 'qemu';
  /** Host CPUs for vCPU pinning (when the plan asks for pinning). */
  hostCpus?: number[];
  /** Where /sys is (mediated devices are made there); tests give a fake tree. */
  hostRoots?: HostRoots;
  log: Log;
}

export interface EnvOptions {
  stateRoot?: string;
  dataRoot?: string;
  /** The owning checkout (default: the one around the working directory). */
  owner?: string;
  /** The doctor's verdict; wins over the plan's `auto`. */
  acceleration?: 'kvm' | 'tcg';
  hostCpus?: number[];
  hostRoots?: HostRoots;
  log?: Log;
}

/**
 * `auto` acceleration needs the doctor's probe (a booted guest), because
 * `/dev/kvm` existing does not mean KVM works (nested KVM is often broken). Without
 * a verdict, `PHAROS_ACCEL=kvm|tcg` decides, else TCG — slower but always works.
 */
export function resolveDomainType(plan: Pick<ClusterPlan, 'acceleration'>, probed?: 'kvm' | 'tcg'): 'kvm' | 'qemu' {
  const env = process.env.PHAROS_ACCEL;
  const a = plan.acceleration !== 'auto' ? plan.acceleration : probed ?? (env === 'kvm' || env === 'tcg' ? env : 'tcg');
  return a === 'kvm' ? 'kvm' : 'qemu';
}

export function clusterEnv(plan: Pick<ClusterPlan, 'name' | 'libvirtUri' | 'acceleration'>, opts: EnvOptions = {}): ClusterEnv {
  const stateRoot = opts.stateRoot ?? defaultStateRoot();
  const dataRoot = opts.dataRoot ?? defaultDataRoot(plan.libvirtUri);
  return {
    uri: plan.libvirtUri,
    cluster: plan.name,
    stateRoot,
    dataRoot,
    paths: clusterPaths(plan.name, stateRoot, dataRoot),
    owner: opts.owner ? ownerPath(opts.owner) : defaultOwner(),
    domainType: resolveDomainType(plan, opts.acceleration),
    hostCpus: opts.hostCpus,
    hostRoots: opts.hostRoots,
    log: opts.log ?? (() => {}),
  };
}

/** What the owner record needs; `owner` defaults to the checkout around the working directory. */
export type OwnedEnv = Pick<ClusterEnv, 'uri' | 'stateRoot' | 'paths'> & Partial<Pick<ClusterEnv, 'owner' | 'log' | 'hostRoots'>>;

export function ownerEnv(cluster: string, env: Pick<OwnedEnv, 'stateRoot' | 'owner' | 'log'>): OwnerEnv {
  return { stateRoot: env.stateRoot, cluster, owner: env.owner ?? defaultOwner(), log: env.log ?? ((l) => process.stderr.write(`${l}\n`)) };
}

/** What boots a node: the resolved backing image, and optionally a kernel for direct boot. */
export interface NodeImage {
  image: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

export type Action = 'created' | 'redefined' | 'unchanged' | 'started' | 'recreated';

export interface EnsureResult {
  action: Action;
  message: string;
}

export interface DomainResult extends EnsureResult {
  restartNeeded: boolean;
  specHash: string;
}
