/**
 * Libvirt domain XML for one Pharos VM: a pure function of a `DomainSpec`, so it
 * is golden-tested and its hash says exactly when a VM must be redefined.
 *
 * Choices worth knowing:
 * - Machine `q35` for KVM and TCG alike (verified booting under TCG with libvirt
 *   9.0 / QEMU 7.2). `type='kvm'` or `type='qemu'` follows the acceleration.
 * - CPU: under KVM the configured model (`host-passthrough`, `host-model` or a
 *   named model) with `require`d features. Under TCG there is no host CPU to pass
 *   through, so `host-passthrough`/`host-model`/`max` become `mode='maximum'` (QEMU's
 *   `-cpu max`, everything TCG can emulate) and configured features are
 *   `optional`: a missing feature must not stop a development VM from booting.
 * - Memory: hugepages when asked; memfd + shared access when virtiofs or PCI
 *   passthrough needs guest memory shareable (virtiofsd maps it). vhost-user
 *   needs nothing more under TCG than under KVM.
 * - virtio-fs: `<filesystem>` with `<driver type='virtiofs'/>` and no
 *   `<binary path>`: libvirt 9.0 finds virtiofsd through QEMU's vhost-user
 *   descriptors (Debian's qemu-system-common ships
 *   /usr/share/qemu/vhost-user/50-qemu-virtiofsd.json → /usr/lib/qemu/virtiofsd),
 *   so the host's packaging, not Pharos, says where the daemon lives. libvirt
 *   9.0 refuses `<readonly/>` for virtiofs ("virtiofs does not yet support
 *   read-only mode"): a read-only share is enforced only by the guest's mount
 *   option `ro` (the virtio-fs role), not by the host.
 * - NVIDIA GPUs (vendor 10de) get `<kvm><hidden state='on'/>` (the driver refuses
 *   to load in a VM it recognises); hostdevs are `managed='yes'` (libvirt binds
 *   vfio-pci), GPU functions first with `<rom bar='on'/>`; a VM with a GPU has no
 *   emulated graphics so the GPU is the primary display.
 * - GPU partitions: each mediated device (vGPU) of the node is a
 *   `<hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci'
 *   display='off'>` naming its UUID, after the PCI hostdevs. `managed='no'`:
 *   libvirt does not make the device, Pharos does (lib/host/mdev.ts,
 *   `createMdevs`) before the domain starts; `display='off'`: the vGPU is not
 *   the console, so such a VM keeps its emulated graphics. MIG partitions add
 *   nothing here: they are made inside the guest on a GPU passed through whole
 *   (its PCI hostdev), and MIG-backed vGPU types are mdev types.
 * - Console: one pty serial port whose output is also logged to `consoleLog` by
 *   virtlogd (read by tests and by `pharos vm status`).
 * - Guest configuration travels in QEMU fw_cfg, not on a disk or kernel command
 *   line: `<sysinfo type='fwcfg'>` entry `opt/pharos/config` holds `key=value`
 *   lines (see `fwcfgConfig`), read in the guest from
 *   `/sys/firmware/qemu_fw_cfg/by_name/opt/pharos/config/raw` (module
 *   `qemu_fw_cfg`, present in Debian's cloud kernel). The format is the one
 *   `lib/images/firstboot.ts` renders (hostname, cluster_ip, cluster_mac,
 *   mgmt_mac, ssh_authorized_key, hosts). Images therefore need no per-cluster
 *   baking. No secret goes through fw_cfg (it is visible on QEMU's command line).
 * - `user` networking: the management NIC is QEMU user networking through
 *   `<qemu:commandline>` (`-netdev user,hostfwd=tcp:127.0.0.1:PORT-:22`), because
 *   libvirt 9.0's `<interface type='user'>` cannot express `hostfwd` to a chosen
 *   host address; the cluster NIC is on the isolated libvirt network.
 * - `<metadata><pharos:spec>HASH</pharos:spec>`: sha256 of the canonical spec;
 *   a probe compares it with the wanted spec to decide "unchanged/redefine".
 */
import { createHash } from 'node:crypto';
import { isRealGpu, realGpus, type CpuPlan, type MemoryBackingPlan, type PciDevicePlan, type VirtiofsMountPlan } from '../model.js';
import { canonicalJson, esc } from './xml.js';
import { PharosError } from '../errors.js';

export const PHAROS_XMLNS = 'https://pharos.dev/xmlns/1';
export const QEMU_XMLNS = 'http://libvirt.org/schemas/domain/qemu/1.0';

/**
 * PCI slot on the q35 root bus for the QEMU-side management NIC. libvirt does
 * not see devices added through `<qemu:commandline>`, and puts video on slot 1;
 * 0x1a is never auto-assigned (libvirt hangs its own devices off root ports in
 * low slots, and 0x1f is the chipset), so the two cannot collide.
 */
export const MGMT_NIC_SLOT = '0x1a';

export type DomainNetwork =
  | { mode: 'nat'; network: string; mac: string }
  | { mode: 'user'; network: string; mac: string; mgmtMac: string; sshPort: number };

export interface DomainSpec {
  name: string;
  /** Cluster name (recorded in metadata so leftovers are attributable). */
  cluster: string;
  domainType: 'kvm' | 'qemu';
  vcpus: number;
  memoryMiB: number;
  cpu: CpuPlan;
  memoryBacking: MemoryBackingPlan;
  /** Host CPUs to pin vCPUs to (round robin) when `cpu.pinning`; default 0..vcpus-1. */
  hostCpus?: number[];
  /** The VM's qcow2 overlay. */
  disk: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  network: DomainNetwork;
  pcie: PciDevicePlan[];
  virtiofs: VirtiofsMountPlan[];
  /** UUIDs of the node's mediated devices (vGPUs); absent when it has none, so
   *  the spec hash of every other domain is as before. */
  mdev?: string[];
  consoleLog: string;
  /** Contents of fw_cfg `opt/pharos/config`. */
  fwcfgConfig?: string;
}

/** Hash of everything that shapes the domain. */
export function specHash(spec: DomainSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 32);
}

/** Guest-side configuration as `key=value` lines (values never contain newlines). */
export function fwcfgConfig(fields: Record<string, string | number | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${String(v).replace(/[\r\n]+/g, ' ')}`)
    .join('\n');
}

const TCG_PASSTHROUGH = new Set(['host-passthrough', 'host-model', 'host', 'max', 'maximum']);

/**
 * libvirt refuses a topology whose product differs from the vCPU count. The
 * cluster-wide topology is kept where it divides the node's vCPUs (cores scaled),
 * else it falls back to one socket of single-threaded cores.
 */
export function fitTopology(t: CpuPlan['topology'], vcpus: number): { sockets: number; cores: number; threads: number } {
  if (t && t.sockets * t.cores * t.threads === vcpus) return t;
  if (t && vcpus % (t.sockets * t.threads) === 0) return { sockets: t.sockets, cores: vcpus / (t.sockets * t.threads), threads: t.threads };
  return { sockets: 1, cores: vcpus, threads: 1 };
}

function cpuXml(spec: DomainSpec): string[] {
  const c = spec.cpu;
  const tcg = spec.domainType === 'qemu';
  const topo = fitTopology(c.topology, spec.vcpus);
  const feats = [...c.features];
  if (c.nested && !tcg) feats.push('+vmx');
  const featLines = [...new Set(feats)].map((f) => {
    const name = f.replace(/^[+-]/, '');
    const policy = f.startsWith('-') ? 'disable' : tcg ? 'optional' : 'require';
    return `    <feature policy='${policy}' name='${esc(name)}'/>`;
  });
  const topoLine = `    <topology sockets='${topo.sockets}' dies='1' cores='${topo.cores}' threads='${topo.threads}'/>`;
  if (tcg && TCG_PASSTHROUGH.has(c.model)) {
    return [`  <cpu mode='maximum' check='none'>`, topoLine, ...featLines, '  </cpu>'];
  }
  if (!tcg && (c.model === 'host-passthrough' || c.model === 'host')) {
    return [`  <cpu mode='host-passthrough' check='none' migratable='off'>`, topoLine, ...featLines, '  </cpu>'];
  }
  if (!tcg && c.model === 'host-model') {
    return [`  <cpu mode='host-model' check='partial'>`, topoLine, ...featLines, '  </cpu>'];
  }
  return [
    `  <cpu mode='custom' match='exact' check='${tcg ? 'none' : 'partial'}'>`,
    `    <model fallback='allow'>${esc(c.model)}</model>`,
    topoLine,
    ...featLines,
    '  </cpu>',
  ];
}

function pciAddr(a: string): string {
  const m = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(a);
  if (!m) throw new Error(`bad PCI address ${a}`);
  return `<address domain='0x${m[1]}' bus='0x${m[2]}' slot='0x${m[3]}' function='0x${m[4]}'/>`;
}

export function needsSharedMemory(spec: Pick<DomainSpec, 'virtiofs' | 'pcie' | 'memoryBacking'>): boolean {
  return spec.memoryBacking.memfd || spec.virtiofs.length > 0;
}

export function hasGpu(spec: Pick<DomainSpec, 'pcie'>): boolean {
  return realGpus(spec).length > 0;
}

/**
 * `uuid`: the existing domain's UUID when redefining (libvirt refuses a same-name
 * definition with a different UUID); not part of the spec hash.
 */
export function domainXml(spec: DomainSpec, opts: { uuid?: string } = {}): string {
  const hash = specHash(spec);
  const L: string[] = [];
  const user = spec.network.mode === 'user';
  L.push(`<domain type='${spec.domainType}'${user ? ` xmlns:qemu='${QEMU_XMLNS}'` : ''}>`);
  L.push(`  <name>${esc(spec.name)}</name>`);
  if (opts.uuid) L.push(`  <uuid>${esc(opts.uuid)}</uuid>`);
  L.push(`  <metadata>`);
  L.push(`    <pharos:spec xmlns:pharos='${PHAROS_XMLNS}' cluster='${esc(spec.cluster)}'>${hash}</pharos:spec>`);
  L.push(`  </metadata>`);
  L.push(`  <memory unit='MiB'>${spec.memoryMiB}</memory>`);
  L.push(`  <currentMemory unit='MiB'>${spec.memoryMiB}</currentMemory>`);
  const mb = spec.memoryBacking;
  const shared = needsSharedMemory(spec);
  if (mb.hugepages || shared) {
    L.push('  <memoryBacking>');
    if (mb.hugepages) {
      L.push('    <hugepages>');
      L.push(`      <page size='${mb.hugepageSize === '1G' ? 1048576 : 2048}' unit='KiB'/>`);
      L.push('    </hugepages>');
    }
    if (shared) {
      L.push(`    <source type='memfd'/>`);
      L.push(`    <access mode='shared'/>`);
    }
    L.push('  </memoryBacking>');
  }
  L.push(`  <vcpu placement='static'>${spec.vcpus}</vcpu>`);
  if (spec.cpu.pinning) {
    const cpus = spec.hostCpus && spec.hostCpus.length > 0 ? spec.hostCpus : [...Array(spec.vcpus).keys()];
    L.push('  <cputune>');
    for (let i = 0; i < spec.vcpus; i++) L.push(`    <vcpupin vcpu='${i}' cpuset='${cpus[i % cpus.length]}'/>`);
    L.push('  </cputune>');
  }
  if (spec.fwcfgConfig !== undefined) {
    if (spec.fwcfgConfig.includes(',')) {
      // libvirt 9.0 does not escape commas in `-fw_cfg …,string=`; QEMU would split there.
      throw new PharosError(`fw_cfg config for ${spec.name} contains a comma`, { hint: 'fw_cfg values must not contain commas' });
    }
    L.push(`  <sysinfo type='fwcfg'>`);
    if (spec.fwcfgConfig !== undefined) L.push(`    <entry name='opt/pharos/config'>${esc(spec.fwcfgConfig)}</entry>`);
    L.push('  </sysinfo>');
  }
  L.push('  <os>');
  L.push(`    <type arch='x86_64' machine='q35'>hvm</type>`);
  if (spec.kernel) {
    L.push(`    <kernel>${esc(spec.kernel)}</kernel>`);
    if (spec.initrd) L.push(`    <initrd>${esc(spec.initrd)}</initrd>`);
    if (spec.cmdline) L.push(`    <cmdline>${esc(spec.cmdline)}</cmdline>`);
  } else {
    L.push(`    <boot dev='hd'/>`);
  }
  L.push('  </os>');
  const nvidia = spec.pcie.some((d) => d.vendorId.toLowerCase() === '10de');
  L.push('  <features>');
  L.push('    <acpi/>');
  L.push('    <apic/>');
  if (nvidia) {
    L.push('    <kvm>');
    L.push(`      <hidden state='on'/>`);
    L.push('    </kvm>');
  }
  L.push('  </features>');
  L.push(...cpuXml(spec));
  L.push(`  <clock offset='utc'/>`);
  L.push('  <on_poweroff>destroy</on_poweroff>');
  L.push('  <on_reboot>restart</on_reboot>');
  L.push('  <on_crash>destroy</on_crash>');
  L.push('  <devices>');
  L.push(`    <disk type='file' device='disk'>`);
  L.push(`      <driver name='qemu' type='qcow2' discard='unmap'/>`);
  L.push(`      <source file='${esc(spec.disk)}'/>`);
  L.push(`      <target dev='vda' bus='virtio'/>`);
  L.push('    </disk>');
  const n = spec.network;
  L.push(`    <interface type='network'>`);
  L.push(`      <source network='${esc(n.network)}'/>`);
  L.push(`      <mac address='${esc(n.mac)}'/>`);
  L.push(`      <model type='virtio'/>`);
  L.push('    </interface>');
  for (const fs of spec.virtiofs) {
    L.push(`    <filesystem type='mount' accessmode='passthrough'>`);
    L.push(`      <driver type='virtiofs' queue='1024'/>`);
    L.push(`      <source dir='${esc(fs.hostPath)}'/>`);
    L.push(`      <target dir='${esc(fs.tag)}'/>`);
    L.push('    </filesystem>');
  }
  // GPU functions first: the ROM BAR belongs to the primary function.
  const devs = [...spec.pcie].sort((a, b) => Number(isRealGpu(b)) - Number(isRealGpu(a)));
  for (const d of devs) {
    L.push(`    <hostdev mode='subsystem' type='pci' managed='yes'>`);
    L.push(`      <source>`);
    L.push(`        ${pciAddr(d.address)}`);
    L.push(`      </source>`);
    if (isRealGpu(d)) L.push(`      <rom bar='on'/>`);
    L.push('    </hostdev>');
  }
  for (const uuid of spec.mdev ?? []) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid)) throw new PharosError(`mdev UUID \`${uuid}\` of ${spec.name} is not a lower-case UUID`);
    L.push(`    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>`);
    L.push(`      <source>`);
    L.push(`        <address uuid='${uuid}'/>`);
    L.push(`      </source>`);
    L.push('    </hostdev>');
  }
  L.push(`    <serial type='pty'>`);
  L.push(`      <log file='${esc(spec.consoleLog)}' append='off'/>`);
  L.push(`      <target type='isa-serial' port='0'>`);
  L.push(`        <model name='isa-serial'/>`);
  L.push(`      </target>`);
  L.push('    </serial>');
  L.push(`    <console type='pty'>`);
  L.push(`      <target type='serial' port='0'/>`);
  L.push('    </console>');
  L.push(`    <channel type='unix'>`);
  L.push(`      <target type='virtio' name='org.qemu.guest_agent.0'/>`);
  L.push('    </channel>');
  if (!hasGpu(spec)) {
    L.push(`    <graphics type='vnc' autoport='yes' listen='127.0.0.1'>`);
    L.push(`      <listen type='address' address='127.0.0.1'/>`);
    L.push('    </graphics>');
    L.push(`    <video>`);
    L.push(`      <model type='virtio' heads='1' primary='yes'/>`);
    L.push('    </video>');
  }
  L.push(`    <rng model='virtio'>`);
  L.push(`      <backend model='random'>/dev/urandom</backend>`);
  L.push('    </rng>');
  L.push(`    <memballoon model='virtio'/>`);
  L.push('  </devices>');
  if (n.mode === 'user') {
    L.push('  <qemu:commandline>');
    L.push(`    <qemu:arg value='-netdev'/>`);
    L.push(`    <qemu:arg value='user,id=mgmt,hostfwd=tcp:127.0.0.1:${n.sshPort}-:22'/>`);
    L.push(`    <qemu:arg value='-device'/>`);
    L.push(`    <qemu:arg value='virtio-net-pci,netdev=mgmt,mac=${esc(n.mgmtMac)},bus=pcie.0,addr=${MGMT_NIC_SLOT}'/>`);
    L.push('  </qemu:commandline>');
  }
  L.push('</domain>');
  return L.join('\n') + '\n';
}
