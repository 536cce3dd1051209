/**
 * Shared pieces of the libvirt integration tests: a tiny TCG guest (host cloud
 * kernel + busybox initramfs from tests/fixtures/guest), throw-away cluster plans
 * named `pht-<random>` so parallel runs never collide, and a cleanup that
 * destroys whatever a test made.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { exec } from '../../../lib/tools/exec.js';
import * as qemuImg from '../../../lib/tools/qemu-img.js';
import * as virsh from '../../../lib/tools/virsh.js';
import { qemuMacFor as macFor } from '../../../lib/config/plan.js';
import { clusterEnv, destroyCluster, type ClusterEnv, type NodeImage } from '../../../lib/cluster/ops.js';
import type { ClusterPlan, NetworkMode, NodePlan } from '../../../lib/model.js';

export const URI = process.env.PHAROS_TEST_LIBVIRT_URI ?? 'qemu:///system';
const GUEST_DIR = fileURLToPath(new URL('../../fixtures/guest/', import.meta.url));

export interface Sandbox {
  id: string;
  stateRoot: string;
  dataRoot: string;
  guest: { kernel: string; initrd: string; hostKeyPub: string; base: string };
  clusters: Set<string>;
}

/** Fails loudly (not silently passing) when libvirtd is not there. */
export async function requireLibvirt(): Promise<void> {
  try {
    await virsh.virsh(URI, ['version']);
  } catch (e) {
    throw new Error(`libvirt integration tests need a running libvirtd at ${URI}: ${(e as Error).message}\n(start it: virtlogd -d && libvirtd -d)`);
  }
}

export async function sandbox(): Promise<Sandbox> {
  await requireLibvirt();
  const id = randomBytes(3).toString('hex');
  const stateRoot = mkdtempSync(join(tmpdir(), `pht-${id}-state-`));
  // QEMU runs as libvirt-qemu under qemu:///system and must traverse to the disks.
  const dataRoot = join('/var/lib/pharos-test', `pht-${id}`);
  mkdirSync(dataRoot, { recursive: true, mode: 0o711 });
  const g = join(dataRoot, 'guest');
  await exec('bash', [join(GUEST_DIR, 'build-guest.sh'), g], { timeoutMs: 120_000, timeoutWhat: 'building the test guest' });
  const base = join(dataRoot, 'guest', 'base.qcow2');
  await qemuImg.create(base, 64 * 1024 * 1024);
  return {
    id,
    stateRoot,
    dataRoot,
    guest: { kernel: join(g, 'vmlinuz'), initrd: join(g, 'initrd'), hostKeyPub: readFileSync(join(g, 'hostkey.pub'), 'utf8').trim(), base },
    clusters: new Set(),
  };
}

let seq = 0;
export function clusterName(sb: Sandbox): string {
  const n = `pht-${sb.id}${String.fromCharCode(97 + seq++)}`;
  sb.clusters.add(n);
  return n;
}

export function tinyPlan(sb: Sandbox, opts: { nodes?: number; mode?: NetworkMode; name?: string } = {}): ClusterPlan {
  const name = opts.name ?? clusterName(sb);
  const mode = opts.mode ?? 'user';
  const octet = (parseInt(sb.id.slice(0, 2), 16) % 200) + 20;
  const third = seq % 250;
  const subnet = `10.${octet}.${third}.0/24`;
  const nodes: NodePlan[] = [];
  const count = opts.nodes ?? 1;
  for (let i = 0; i < count; i++) {
    const shortName = i === 0 ? 'controller' : `compute-${String(i).padStart(2, '0')}`;
    const nm = `${name}-${shortName}`;
    nodes.push({
      name: nm,
      shortName,
      cluster: name,
      role: i === 0 ? 'controller' : 'compute',
      vcpus: 1,
      memoryMiB: 256,
      diskGb: 1,
      ip: `10.${octet}.${third}.${10 + i}`,
      mac: macFor(nm),
      image: { kind: 'path', path: sb.guest.base },
      autoStart: true,
      pcie: [],
      virtiofs: [],
      emulatedGpus: 0,
      // user mode: the plan names the management NIC's MAC (as planSystem does).
      ...(mode === 'user' ? { mgmtMac: macFor(nm, 'mgmt') } : {}),
    });
  }
  return {
    name,
    kind: 'hpc',
    libvirtUri: URI,
    acceleration: 'tcg',
    cpu: { model: 'host-passthrough', features: [], pinning: false, nested: false },
    memoryBacking: { hugepages: false, hugepageSize: '2M', memfd: false },
    network: {
      mode,
      subnet,
      prefix: 24,
      gateway: `10.${octet}.${third}.1`,
      netmask: '255.255.255.0',
      libvirtName: mode === 'nat' ? `${name}-network` : `${name}-cluster`,
      bridge: `pht${sb.id}${third.toString(16)}`.slice(0, 15),
    },
    nodes,
    storage: { shared: 'none', mountPoint: '/shared', virtiofs: false },
    monitoring: { prometheus: false, nodeExporter: false, grafana: false, dcgm: false },
    users: [],
  };
}

export function imagesFor(sb: Sandbox, plan: ClusterPlan, extraCmdline = ''): Record<string, NodeImage> {
  const out: Record<string, NodeImage> = {};
  for (const n of plan.nodes) {
    out[n.name] = { image: sb.guest.base, kernel: sb.guest.kernel, initrd: sb.guest.initrd, cmdline: `console=ttyS0 panic=-1 quiet ${extraCmdline}`.trim() };
  }
  return out;
}

export function envFor(sb: Sandbox, plan: ClusterPlan, log?: (l: string) => void): ClusterEnv {
  return clusterEnv(plan, { stateRoot: sb.stateRoot, dataRoot: sb.dataRoot, log });
}

/** Everything on the connection whose name starts with `prefix`. */
export async function leftovers(prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const n of await virsh.domain.list(URI)) if (n.startsWith(prefix)) found.push(`domain ${n}`);
  for (const n of await virsh.network.list(URI)) if (n.startsWith(prefix)) found.push(`network ${n}`);
  for (const n of await virsh.pool.list(URI)) if (n.startsWith(prefix)) found.push(`pool ${n}`);
  return found;
}

export async function cleanup(sb: Sandbox): Promise<void> {
  for (const c of sb.clusters) {
    const env = clusterEnv({ name: c, libvirtUri: URI, acceleration: 'tcg' }, { stateRoot: sb.stateRoot, dataRoot: sb.dataRoot });
    await destroyCluster(c, env).catch(() => undefined);
  }
  rmSync(sb.stateRoot, { recursive: true, force: true });
  if (existsSync(sb.dataRoot)) rmSync(sb.dataRoot, { recursive: true, force: true });
}

/** Poll a file until it contains `needle` (the guest's serial console log). */
export async function waitForText(file: string, needle: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      /* not yet created */
    }
    if (text.includes(needle)) return text;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for "${needle}" in ${file}; last output:\n${text.slice(-800)}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

