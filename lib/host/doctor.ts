/**
 * `pharos doctor`: is this host able to run the planned clusters? Every check
 * reports ok / warn / fail with a detail and, when not ok, the commands that
 * fix it. The graph reuses `runDoctor` (and `probeAcceleration`) before any VM
 * is touched.
 */
import { readFile, stat, statfs } from 'node:fs/promises';
import { arch, homedir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../tools/exec.js';
import { deployStrategy } from '../tools/ansible.js';
import type { Acceleration, AccelerationSetting, SystemPlan } from '../model.js';
import { probeAcceleration, type GuestProbeResult, type ProbeOptions } from './kvm.js';
import { checkPlanPcie } from './pcie.js';
import { checkPlanPartitions, type MigProfileSource } from './mdev.js';
import type { HostRoots } from './sysfs.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  remediation?: string;
}

export interface DoctorReport {
  ok: boolean;
  acceleration: Acceleration;
  notice?: string;
  kvm?: GuestProbeResult;
  checks: DoctorCheck[];
}

export interface ToolSpec {
  cmd: string;
  args: string[];
  pkg: string;
  /** Missing → fail (else warn). */
  required: boolean;
}

export const TOOLS: ToolSpec[] = [
  { cmd: 'virsh', args: ['--version'], pkg: 'libvirt-clients', required: true },
  { cmd: 'qemu-img', args: ['--version'], pkg: 'qemu-utils', required: true },
  { cmd: 'qemu-system-x86_64', args: ['--version'], pkg: 'qemu-system-x86', required: true },
  { cmd: 'packer', args: ['version'], pkg: 'packer', required: false },
  { cmd: 'ansible-playbook', args: ['--version'], pkg: 'ansible-core', required: true },
  { cmd: 'mmdebstrap', args: ['--version'], pkg: 'mmdebstrap', required: true },
];

export interface DoctorOptions extends HostRoots {
  probe?: ProbeOptions;
  tools?: ToolSpec[];
  /** Directories whose free space matters (state, image cache). Default: cwd. */
  diskPaths?: string[];
  /** Default libvirt URI when there is no plan. */
  libvirtUri?: string;
  /** Refresh the KVM verdict cache here (e.g. `.pharos/kvm-probe.json`) for the graph to reuse. */
  kvmCacheFile?: string;
  /** `nvidia-smi mig -lgip` output for the MIG profile check (default: run it on this host). */
  migProfiles?: MigProfileSource;
}

function versionOf(out: string): string {
  const first = out.trim().split('\n')[0] ?? '';
  const m = /(\d+\.\d+(\.\d+)?)/.exec(first);
  return m ? m[1]! : first.slice(0, 60);
}

async function checkTool(t: ToolSpec): Promise<DoctorCheck> {
  try {
    const r = await exec(t.cmd, t.args, { timeoutMs: 15_000, okCodes: [0, 1], pkg: t.pkg });
    return { id: `tool:${t.cmd}`, title: t.cmd, status: 'ok', detail: versionOf(r.stdout || r.stderr) };
  } catch (e) {
    return {
      id: `tool:${t.cmd}`,
      title: t.cmd,
      status: t.required ? 'fail' : 'warn',
      detail: (e as Error).message.split('\n')[0] ?? 'not runnable',
      remediation: `apt-get install -y ${t.pkg}`,
    };
  }
}

/** Which Ansible strategy deploys get (lib/tools/ansible.ts deployStrategy). */
export function checkDeployStrategy(env: NodeJS.ProcessEnv = process.env, installed?: (path: string) => boolean): DoctorCheck {
  const base = { id: 'ansible:strategy', title: 'deploy strategy' };
  try {
    const s = deployStrategy(env, installed);
    if (s.strategy === 'mitogen_linear') return { ...base, status: 'ok', detail: 'mitogen_linear (ansible-mitogen: one resident Python per host)' };
    if (env.ANSIBLE_STRATEGY || env.PHAROS_MITOGEN === '0') return { ...base, status: 'ok', detail: `${s.strategy} (${env.ANSIBLE_STRATEGY ? 'ANSIBLE_STRATEGY' : 'PHAROS_MITOGEN=0'})` };
    return { ...base, status: 'warn', detail: "linear: Ansible's own strategy starts a Python per module, seconds each under TCG", remediation: 'apt-get install -y ansible-mitogen' };
  } catch (e) {
    return { ...base, status: 'fail', detail: (e as Error).message, remediation: 'unset PHAROS_MITOGEN, or set it to 0 or 1' };
  }
}

async function checkLibvirt(uri: string): Promise<DoctorCheck> {
  try {
    const r = await exec('virsh', ['-c', uri, 'version'], { timeoutMs: 15_000, timeoutWhat: `libvirtd at ${uri}`, pkg: 'libvirt-clients' });
    const m = /Running hypervisor:\s*(.+)/.exec(r.stdout);
    return { id: `libvirt:${uri}`, title: `libvirt ${uri}`, status: 'ok', detail: m ? m[1]!.trim() : 'reachable' };
  } catch (e) {
    return {
      id: `libvirt:${uri}`,
      title: `libvirt ${uri}`,
      status: 'fail',
      detail: (e as Error).message.split('\n').slice(-1)[0] ?? 'unreachable',
      remediation: uri.endsWith('/session') ? 'virsh -c qemu:///session version   # starts the session daemon' : 'systemctl start libvirtd   # without systemd: virtlogd -d && libvirtd -d',
    };
  }
}

async function memAvailableMiB(procRoot: string): Promise<number | undefined> {
  const t = await readFile(`${procRoot}/meminfo`, 'utf8').catch(() => '');
  const m = /MemAvailable:\s+(\d+) kB/.exec(t);
  return m ? Math.floor(Number(m[1]) / 1024) : undefined;
}

const GiB = 1024 ** 3;

/** Where Pharos writes big files: the checkout, the image cache, libvirt's image dir (one entry per filesystem). */
async function defaultDiskPaths(): Promise<string[]> {
  const cands = [process.cwd(), process.env['PHAROS_CACHE'] || join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'pharos'), '/var/lib/libvirt/images'];
  const seen = new Set<number>();
  const out: string[] = [];
  for (const c of cands) {
    try {
      const st = await stat(c);
      if (seen.has(st.dev)) continue;
      seen.add(st.dev);
      out.push(c);
    } catch {
      /* not created yet */
    }
  }
  return out;
}

/** One setting for the host: tcg only when every cluster says so; kvm when any insists. */
function accelerationWanted(plan: SystemPlan | undefined): AccelerationSetting {
  const all = plan?.clusters.map((c) => c.acceleration) ?? [];
  if (all.length && all.every((a) => a === 'tcg')) return 'tcg';
  return all.includes('kvm') ? 'kvm' : 'auto';
}

export async function runDoctor(plan: SystemPlan | undefined, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const a = arch();
  checks.push(
    a === 'x64'
      ? { id: 'arch', title: 'architecture', status: 'ok', detail: 'x86_64' }
      : { id: 'arch', title: 'architecture', status: 'fail', detail: `${a}: Pharos images and VMs are x86_64`, remediation: 'run Pharos on an x86_64 host' },
  );
  const [tools, accel] = await Promise.all([
    Promise.all((opts.tools ?? TOOLS).map(checkTool)),
    probeAcceleration(accelerationWanted(plan), { ...opts.probe, ...(opts.kvmCacheFile ? { cacheFile: opts.kvmCacheFile, fresh: true } : {}) }),
  ]);
  checks.push(...tools);
  checks.push(checkDeployStrategy());

  const uris = [...new Set(plan?.clusters.map((c) => c.libvirtUri) ?? [opts.libvirtUri ?? (process.env['LIBVIRT_DEFAULT_URI'] || 'qemu:///system')])];
  checks.push(...(await Promise.all(uris.map(checkLibvirt))));

  const probe = accel.probe;
  if (probe) {
    checks.push({
      id: 'kvm',
      title: 'KVM (test guest)',
      // Falling back is fine, unless the config insists on KVM.
      status: probe.usable ? 'ok' : plan?.clusters.some((c) => c.acceleration === 'kvm') ? 'fail' : 'warn',
      detail: probe.usable ? probe.reason : accel.acceleration === 'kvm' ? `${probe.reason}; the config requires kvm` : `${probe.reason}; falling back to TCG`,
      remediation: probe.usable
        ? undefined
        : 'VMs still work under TCG, only slower. For KVM: enable virtualisation in the firmware, `modprobe kvm_intel` (or kvm_amd), add your user to the kvm group; in a VM, enable nested virtualisation on its host',
    });
  } else {
    checks.push({ id: 'kvm', title: 'KVM (test guest)', status: 'ok', detail: accel.notice ?? 'not probed' });
  }

  const procRoot = opts.procRoot ?? '/proc';
  const autoVms = plan?.clusters.flatMap((c) => c.nodes).filter((n) => n.autoStart) ?? [];
  const needMiB = autoVms.reduce((s, n) => s + n.memoryMiB, 0);
  const avail = await memAvailableMiB(procRoot);
  if (avail !== undefined) {
    const st: CheckStatus = needMiB > avail ? (needMiB > avail * 1.5 ? 'fail' : 'warn') : 'ok';
    checks.push({
      id: 'memory',
      title: 'free memory',
      status: st,
      detail: `${(avail / 1024).toFixed(1)} GiB available${plan ? `; VMs that start automatically need ${(needMiB / 1024).toFixed(1)} GiB` : ''}`,
      remediation: st === 'ok' ? undefined : 'lower memory_gb in the config, set auto_start: false on some nodes, or stop other VMs',
    });
  }

  const needDiskGb = plan ? plan.clusters.flatMap((c) => c.nodes).reduce((s, n) => s + n.diskGb, 0) : 0;
  for (const p of opts.diskPaths ?? (await defaultDiskPaths())) {
    try {
      const s = await statfs(p);
      const free = (s.bavail * s.bsize) / GiB;
      // Overlays are thin: images plus a few GiB of writes is what really gets used.
      const st: CheckStatus = free < 3 ? 'fail' : free < 10 ? 'warn' : 'ok';
      checks.push({
        id: `disk:${p}`,
        title: `free disk at ${p}`,
        status: st,
        detail: `${free.toFixed(1)} GiB free${plan ? ` (VM disks may grow to ${needDiskGb} GB in total; overlays start empty)` : ''}`,
        remediation: st === 'ok' ? undefined : 'free space, or point PHAROS_CACHE at a larger disk',
      });
    } catch (e) {
      checks.push({ id: `disk:${p}`, title: `free disk at ${p}`, status: 'warn', detail: (e as Error).message });
    }
  }

  if (plan && plan.clusters.some((c) => c.nodes.some((n) => n.pcie.length > 0))) {
    const r = await checkPlanPcie(plan, opts);
    checks.push({
      id: 'iommu',
      title: 'IOMMU',
      status: r.iommu.enabled ? 'ok' : 'fail',
      detail: r.iommu.reason,
      remediation: r.iommu.enabled ? undefined : r.problems.find((p) => p.message.startsWith('IOMMU'))?.remediation,
    });
    checks.push({
      id: 'vfio',
      title: 'vfio modules',
      status: r.vfio.missing.length ? 'fail' : 'ok',
      detail: r.vfio.missing.length ? `missing: ${r.vfio.missing.join(', ')}` : r.vfio.loaded.join(', '),
      remediation: r.vfio.missing.length ? r.problems.find((p) => p.message.startsWith('vfio'))?.remediation : undefined,
    });
    for (const n of r.nodes) {
      checks.push({
        id: `pcie:${n.node}`,
        title: `PCI passthrough ${n.node}`,
        status: n.problems.length ? 'fail' : 'ok',
        detail: n.problems.length ? n.problems.map((p) => p.message).join('\n') : `${n.devices.map((d) => d.address).join(', ')} bound to vfio-pci, whole IOMMU group assigned`,
        remediation: n.problems.length ? [...new Set(n.problems.map((p) => p.remediation))].join('\n\n') : undefined,
      });
    }
  }

  if (plan && plan.clusters.some((c) => c.nodes.some((n) => (n.partitions ?? []).length > 0))) {
    for (const n of await checkPlanPartitions(plan, opts)) {
      checks.push({
        id: `gpu-partitions:${n.node}`,
        title: `GPU partitions ${n.node}`,
        status: n.problems.length ? 'fail' : n.unverified ? 'warn' : 'ok',
        detail: n.problems.length ? n.problems.map((p) => p.message).join('\n') : n.notes.join('\n') || 'mediated devices exist',
        remediation: n.problems.length
          ? [...new Set(n.problems.map((p) => p.remediation))].join('\n\n')
          : n.unverified
            ? 'check the profile with `nvidia-smi mig -lgip` where the GPU is visible (in the guest, or on the host before binding it to vfio-pci)'
            : undefined,
      });
    }
  }

  const report: DoctorReport = { ok: checks.every((c) => c.status !== 'fail'), acceleration: accel.acceleration, checks };
  if (accel.notice) report.notice = accel.notice;
  if (probe) report.kvm = probe;
  return report;
}

export function formatDoctor(r: DoctorReport): string {
  const mark = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;
  const lines: string[] = [];
  for (const c of r.checks) {
    const [first, ...rest] = c.detail.split('\n');
    lines.push(`[${mark[c.status]}] ${c.title}: ${first ?? ''}`);
    for (const l of rest) lines.push(`       ${l}`);
    if (c.remediation && c.status !== 'ok') for (const l of c.remediation.split('\n')) lines.push(`       fix: ${l}`);
  }
  lines.push('');
  lines.push(`acceleration: ${r.acceleration}${r.notice ? ` — ${r.notice}` : ''}`);
  lines.push(r.ok ? 'doctor: host is ready' : `doctor: ${r.checks.filter((c) => c.status === 'fail').length} check(s) failed`);
  return lines.join('\n');
}
