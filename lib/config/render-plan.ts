/**
 * `pharos plan` output: the same SystemPlan as text tables, markdown, or JSON.
 *
 * The `ssh` column is where SSH reaches the VM. For a VM that exists, that is
 * the endpoint recorded in its cluster's state (`reached`, read by the CLI;
 * lib/cluster/access.ts says why state is authoritative): it differs from the
 * plan's port when that port was busy as the VM was made. A VM not made yet
 * shows the planned endpoint. The JSON form is the plan alone.
 */
import { realGpus, type ClusterPlan, type ImageRef, type NodePlan, type SystemPlan } from '../model.js';

export function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(headers), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

function mdTable(headers: string[], rows: string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function imageLabel(i: ImageRef): string {
  return i.kind === 'built' ? `image:${i.name}` : i.path;
}

function gpuLabel(n: NodePlan): string {
  const real = realGpus(n).map((d) => `${d.address}${d.vendorId ? ` (${d.vendorId}:${d.deviceId})` : ''}`);
  const parts = [...real];
  for (const p of n.partitions ?? []) parts.push(p.kind === 'mdev' ? `${p.uuids.length} × ${p.mdevType} on ${p.parent}` : `${p.count} × MIG ${p.profile} on ${p.parent}`);
  if (n.emulatedGpus) parts.push(`${n.emulatedGpus} emulated`);
  return parts.join(', ') || '-';
}

/** Where SSH reaches each existing VM, by VM name (from the clusters' state). */
export type ReachedEndpoints = ReadonlyMap<string, { host: string; port: number }>;

function sshLabel(n: NodePlan, reached: ReachedEndpoints | undefined): string {
  const planned = n.sshPort !== undefined ? `127.0.0.1:${n.sshPort}` : `${n.ip}:22`;
  const r = reached?.get(n.name);
  if (!r) return planned;
  const actual = `${r.host}:${r.port}`;
  return actual === planned ? actual : `${actual} (planned ${planned})`;
}

function nodeRows(c: ClusterPlan, reached?: ReachedEndpoints): string[][] {
  return c.nodes.map((n) => [
    n.name,
    n.role,
    String(n.vcpus),
    `${n.memoryMiB / 1024} GiB`,
    `${n.diskGb} GB`,
    n.ip,
    n.mac,
    sshLabel(n, reached),
    imageLabel(n.image),
    n.autoStart ? 'yes' : 'no',
    gpuLabel(n),
  ]);
}
const NODE_HEADERS = ['vm', 'role', 'vcpu', 'memory', 'disk', 'ip', 'mac', 'ssh', 'image', 'autostart', 'gpus'];

function creates(c: ClusterPlan): string[] {
  const out = [
    `libvirt network ${c.network.libvirtName} (${c.network.mode === 'nat' ? `NAT, bridge ${c.network.bridge}, gateway ${c.network.gateway}` : `isolated, bridge ${c.network.bridge}, no host address`})`,
    `storage pool ${c.name}-pool`,
    ...c.nodes.map((n) => `qcow2 overlay ${n.name}.qcow2 (${n.diskGb} GB) on ${imageLabel(n.image)}; domain ${n.name}${n.autoStart ? '' : ' (defined, not started)'}`),
  ];
  return out;
}

function clusterFacts(c: ClusterPlan): [string, string][] {
  const f: [string, string][] = [
    ['kind', c.kind],
    ['libvirt', c.libvirtUri],
    ['acceleration', c.acceleration === 'auto' ? 'auto (KVM if the doctor probe boots a guest, else TCG)' : c.acceleration],
    ['cpu', `${c.cpu.model}${c.cpu.features.length ? ` ${c.cpu.features.join(',')}` : ''}`],
    ['network', `${c.network.mode} ${c.network.subnet} (${c.network.libvirtName})`],
    ['shared storage', c.storage.shared === 'none' ? 'none' : `${c.storage.shared} at ${c.storage.mountPoint}`],
    ['monitoring', Object.entries(c.monitoring).filter(([, v]) => v).map(([k]) => (k === 'nodeExporter' ? 'node_exporter' : k)).join(', ') || 'off'],
  ];
  if (c.slurm) f.push(['slurm', `partitions ${c.slurm.partitions.join(',')} (default ${c.slurm.defaultPartition}), max time ${c.slurm.maxJobTime}`]);
  // Shown only when configured, so a plan without them reads as before.
  const a = c.slurm?.accounting;
  if (a?.enabled) f.push(['accounting', `on: slurmdbd + MariaDB on the controller, account ${a.defaultAccount}, samples every ${a.jobAcctGatherFrequency}s`]);
  const scripts = [...(c.slurm?.prolog ?? []).map((s) => `prolog ${s.path}`), ...(c.slurm?.epilog ?? []).map((s) => `epilog ${s.path}`)];
  if (scripts.length) f.push(['job scripts', scripts.join(', ')]);
  if (c.users.length) f.push(['users', c.users.map((u) => `${u.name} (uid ${u.uid})`).join(', ')]);
  if (c.kubernetes) f.push(['kubernetes', `cni ${c.kubernetes.cni}, ingress ${c.kubernetes.ingress}, storage ${c.kubernetes.storageClass}`]);
  return f;
}

function images(p: SystemPlan): string[] {
  const b = p.baseImage;
  const out = [b.source === 'mmdebstrap' ? `image:base — mmdebstrap ${b.suite} from ${b.mirror}${b.packages.length ? ` + ${b.packages.join(' ')}` : ''}` : `image:base — ${b.url} (${b.checksum})`];
  const used = new Set(p.clusters.flatMap((c) => c.nodes.map((n) => imageLabel(n.image))));
  for (const u of [...used].sort()) if (u !== 'image:base') out.push(u.startsWith('image:') ? `${u} — built by Pharos from image:base` : `${u} — user image (must exist)`);
  return out;
}

export function planText(p: SystemPlan, reached?: ReachedEndpoints): string {
  const out: string[] = [`plan for ${p.configPath} (${p.name})`, '', 'images:', ...images(p).map((l) => `  ${l}`)];
  for (const c of p.clusters) {
    out.push('', `cluster ${c.name}`);
    for (const [k, v] of clusterFacts(c)) out.push(`  ${k.padEnd(15)}${v}`);
    out.push('', table(NODE_HEADERS, nodeRows(c, reached)).replace(/^/gm, '  '), '', '  creates:', ...creates(c).map((l) => `    ${l}`));
  }
  return out.join('\n');
}

export function planMarkdown(p: SystemPlan, reached?: ReachedEndpoints): string {
  const out: string[] = [`# Plan: ${p.name}`, '', `Config: \`${p.configPath}\``, '', '## Images', '', ...images(p).map((l) => `- ${l}`)];
  for (const c of p.clusters) {
    out.push('', `## Cluster \`${c.name}\``, '', mdTable(['setting', 'value'], clusterFacts(c)), '', '### VMs', '', mdTable(NODE_HEADERS, nodeRows(c, reached)), '', '### Creates', '', ...creates(c).map((l) => `- ${l}`));
  }
  return out.join('\n');
}
