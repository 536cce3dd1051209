/**
 * Role images (`image:hpc-controller`, `image:hpc-compute`, and for a cloud
 * cluster `image:cloud-base`, `image:cloud-gpu-worker`): the base image provisioned by
 * Packer (qemu builder, direct kernel boot, TCG or KVM) with the role's
 * image-time Ansible playbook, then cleaned and compacted.
 *
 * The build gets a throwaway SSH key pair; its public half reaches the guest
 * through fw_cfg (the same pharos-firstboot path every VM uses), so nothing
 * about the build is baked into the base image.
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PharosError } from '../errors.js';
import { exec } from '../tools/exec.js';
import { packerBuild, type PackerPhase, type PackerVars } from '../tools/packer.js';
import { KERNEL_CMDLINE } from './base.js';
import { fileDigest } from '../util/digest.js';
import { renderFirstbootConfig } from './firstboot.js';

export type ImageRole = 'hpc-controller' | 'hpc-compute' | 'cloud-base' | 'cloud-gpu-worker';
export const IMAGE_ROLES: readonly ImageRole[] = ['hpc-controller', 'hpc-compute', 'cloud-base', 'cloud-gpu-worker'];

export interface BaseImageRef {
  qcow2: string;
  kernel: string;
  initrd: string;
  /** sha256 of qcow2; computed when absent. */
  digest?: string;
}

export interface RoleImageOptions {
  role: ImageRole;
  base: BaseImageRef;
  outDir: string;
  /** `kvm` or `tcg` (from the doctor's probe). */
  accelerator: 'kvm' | 'tcg';
  memoryMiB?: number;
  cpus?: number;
  /**
   * Virtual disk size, Packer syntax. Default 3G (12G with GPU drivers): VM
   * overlays can only be at least this big, and the local config's nodes have
   * 4 GB disks; the guest grows its filesystem to the overlay at boot.
   */
  diskSize?: string;
  withGpuDrivers?: boolean;
  /** Override the playbook (default ansible/playbooks/image-<role>.yml). */
  playbookFile?: string;
  /** Template directory (default packer/<role> of this checkout). */
  packerDir?: string;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  onPhase?: (phase: PackerPhase) => void;
  /** Minutes Packer waits for the guest's SSH (TCG boots are slow). */
  sshTimeoutMinutes?: number;
}

export interface RoleImage {
  qcow2: string;
  kernel: string;
  initrd: string;
  digest: string;
}

export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../..');
}

export function packerDirFor(role: ImageRole): string {
  return join(repoRoot(), 'packer', role);
}

export function defaultPlaybookFor(role: ImageRole): string {
  return join(repoRoot(), 'ansible', 'playbooks', `image-${role}.yml`);
}

/** The variables `packer build` gets (exported for validate tests and logs). */
export function roleImageVars(
  o: RoleImageOptions,
  r: { baseSha256: string; keyFile: string; publicKey: string; outputDirectory: string; bootFilesDir: string },
): PackerVars {
  const cfg = renderFirstbootConfig({ hostname: `pharos-build-${o.role}`, sshAuthorizedKeys: [r.publicKey] });
  return {
    role: o.role,
    base_qcow2: resolve(o.base.qcow2),
    base_sha256: r.baseSha256,
    kernel: resolve(o.base.kernel),
    initrd: resolve(o.base.initrd),
    kernel_cmdline: KERNEL_CMDLINE,
    accelerator: o.accelerator,
    memory: o.memoryMiB ?? 2048,
    cpus: o.cpus ?? 2,
    disk_size: o.diskSize ?? (o.withGpuDrivers ? '12G' : '3G'),
    output_directory: r.outputDirectory,
    ssh_private_key_file: r.keyFile,
    // Inside `-fw_cfg name=…,string=…` a literal comma is written twice.
    firstboot_config: cfg.replace(/,/g, ',,'),
    playbook_file: resolve(o.playbookFile ?? defaultPlaybookFor(o.role)),
    ansible_config: join(repoRoot(), 'ansible', 'ansible.cfg'),
    with_gpu_drivers: o.withGpuDrivers ?? false,
    boot_files_dir: r.bootFilesDir,
    ssh_timeout: `${o.sshTimeoutMinutes ?? 20}m`,
  };
}

/** A throwaway ed25519 key pair in a private temp dir (removed by the caller). */
export async function makeBuildKey(signal?: AbortSignal): Promise<{ dir: string; keyFile: string; publicKey: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pharos-packer-key-'));
  const keyFile = join(dir, 'id_ed25519');
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pharos-image-build', '-f', keyFile], {
    signal,
    pkg: 'openssh-client',
  });
  const publicKey = (await readFile(`${keyFile}.pub`, 'utf8')).trim();
  return { dir, keyFile, publicKey };
}

export async function buildRoleImage(o: RoleImageOptions): Promise<RoleImage> {
  const outDir = resolve(o.outDir);
  const playbook = resolve(o.playbookFile ?? defaultPlaybookFor(o.role));
  try {
    await stat(playbook);
  } catch {
    throw new PharosError(`the image playbook for ${o.role} is missing: ${playbook}`, {
      hint: `image builds run ansible/playbooks/image-${o.role}.yml (the image-time parts of the roles)`,
    });
  }
  await mkdir(outDir, { recursive: true });
  const baseSha256 = o.base.digest ?? (await fileDigest(o.base.qcow2));
  const key = await makeBuildKey(o.signal);
  const outputDirectory = join(outDir, `.packer-${o.role}-${process.pid}`);
  const bootFilesDir = join(outDir, `.boot-${o.role}-${process.pid}`);
  await rm(outputDirectory, { recursive: true, force: true });
  await mkdir(bootFilesDir, { recursive: true });
  try {
    const vars = roleImageVars(o, { baseSha256, keyFile: key.keyFile, publicKey: key.publicKey, outputDirectory, bootFilesDir });
    await packerBuild({
      dir: o.packerDir ?? packerDirFor(o.role),
      vars,
      signal: o.signal,
      onLine: o.onLine,
      onPhase: o.onPhase,
    });
    const built = join(outputDirectory, `${o.role}.qcow2`);
    const qcow2 = join(outDir, `${o.role}.qcow2`);
    const kernel = join(outDir, `${o.role}.vmlinuz`);
    const initrd = join(outDir, `${o.role}.initrd.img`);
    try {
      await stat(built);
    } catch {
      throw new PharosError(`packer finished but left no image at ${built}`);
    }
    await rename(built, qcow2);
    await rename(join(bootFilesDir, 'vmlinuz'), kernel);
    await rename(join(bootFilesDir, 'initrd.img'), initrd);
    const digest = await fileDigest(qcow2);
    return { qcow2, kernel, initrd, digest };
  } finally {
    await rm(outputDirectory, { recursive: true, force: true });
    await rm(bootFilesDir, { recursive: true, force: true });
    await rm(key.dir, { recursive: true, force: true });
  }
}
