/**
 * `image:base`: a bootable Debian qcow2 built from the mirror alone.
 *
 * mmdebstrap → root tree (customised by packer/base/customize.sh) →
 * `mkfs.ext4 -d` (a filesystem image without mounting or loop devices) →
 * `qemu-img convert -c` (compressed qcow2). The kernel and initrd are separate
 * outputs because every VM boots them directly (`root=/dev/vda`): the disk is one
 * ext4 filesystem with no partition table and no boot loader, and
 * pharos-firstboot grows it to the size of whatever overlay it sits under.
 */
import { copyFile, mkdir, readdir, readFile, readlink, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PharosError } from '../errors.js';
import { exec } from '../tools/exec.js';
import { DEFAULT_MIRROR, mmdebstrap } from '../tools/mmdebstrap.js';
import { fileDigest } from '../util/digest.js';

/** What the base image always holds (the roles add the rest at Packer time). */
export const BASE_PACKAGES: readonly string[] = [
  'systemd-sysv', // init
  'udev', // device names and NIC matching for networkd
  'dbus', // hostnamectl/timedatectl and friends used by Ansible modules
  'kmod', // modules-load.d (qemu_fw_cfg)
  'linux-image-cloud-amd64', // virtio drivers; initramfs built in the tree
  'initramfs-tools',
  'openssh-server',
  'python3', // Ansible
  'sudo',
  'ca-certificates',
  'e2fsprogs', // resize2fs at first boot
  'iproute2',
  'systemd-resolved', // DNS for systemd-networkd's DHCP leases
  'qemu-guest-agent',
  'procps',
];

/** Kernel command line for direct kernel boot of any Pharos image. */
export const KERNEL_CMDLINE = 'root=/dev/vda rw console=ttyS0,115200n8 net.ifnames=1';

export interface BaseImageOptions {
  outDir: string;
  suite?: string;
  mirror?: string;
  /** Extra packages on top of BASE_PACKAGES. */
  packages?: readonly string[];
  /** Directory with customize.sh and the first-boot files (default: packer/base). */
  baseDir?: string;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export interface BaseImage {
  qcow2: string;
  kernel: string;
  initrd: string;
  /** sha256 of the qcow2. */
  digest: string;
}

/** packer/base of this checkout (lib/images → ../../packer/base). */
export function defaultBaseDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../packer/base');
}

async function treeBytes(dir: string, signal?: AbortSignal): Promise<number> {
  const r = await exec('du', ['-s', '--block-size=1', '-x', dir], { signal });
  const n = Number(r.stdout.split(/\s/)[0]);
  if (!Number.isFinite(n) || n <= 0) throw new PharosError(`cannot measure ${dir} (du said: ${r.stdout.trim()})`);
  return n;
}

async function pickBootFile(bootDir: string, prefix: string): Promise<string> {
  const names = (await readdir(bootDir)).filter((n) => n.startsWith(prefix)).sort();
  const last = names.at(-1);
  if (!last) {
    throw new PharosError(`the image tree has no ${prefix}* in /boot`, {
      hint: 'the package list must include linux-image-cloud-amd64 (or another kernel) and initramfs-tools',
    });
  }
  return join(bootDir, last);
}

async function processesRootedIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const root = await readlink(`/proc/${name}/root`).catch(() => '');
    if (root === dir || root.startsWith(`${dir}/`)) pids.push(Number(name));
  }
  return pids;
}

/** Mount points at or below `dir` (from /proc/self/mounts), deepest first. */
async function mountsBelow(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  const unescape = (p: string): string => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => unescape(l.split(' ')[1] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Remove the work tree, but never through a mount: an interrupted mmdebstrap
 * (root mode mounts proc, sys and dev nodes into the tree) could otherwise
 * make `rm -r` reach into the host's /dev or /sys.
 */
export async function removeWorkTree(dir: string): Promise<void> {
  // Processes chrooted into the tree (dpkg, maintainer scripts) can outlive an
  // interrupted mmdebstrap when they sit in another process group; they are
  // ours by construction, and would keep writing while we delete.
  for (let round = 0; round < 10; round++) {
    const chrooted = await processesRootedIn(dir);
    if (!chrooted.length) break;
    for (const pid of chrooted) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const m of await mountsBelow(dir)) {
    await exec('umount', ['--lazy', m]).catch(() => undefined);
  }
  const left = await mountsBelow(dir);
  if (left.length) {
    throw new PharosError(`not removing ${dir}: still mounted: ${left.join(', ')}`, {
      hint: `unmount them (umount -l ${left[0]}) and delete ${dir} by hand`,
    });
  }
  await rm(dir, { recursive: true, force: true });
}

export async function buildBaseImage(o: BaseImageOptions): Promise<BaseImage> {
  const outDir = resolve(o.outDir);
  const baseDir = resolve(o.baseDir ?? defaultBaseDir());
  const work = join(outDir, `.work-base-${process.pid}`);
  const rootfs = join(work, 'rootfs');
  const say = (l: string): void => o.onLine?.(l);
  await removeWorkTree(work);
  await mkdir(work, { recursive: true });
  try {
    say(`pharos: mmdebstrap ${o.suite ?? 'bookworm'} from ${o.mirror ?? DEFAULT_MIRROR}`);
    await mmdebstrap({
      suite: o.suite ?? 'bookworm',
      target: rootfs,
      mirror: o.mirror,
      include: [...new Set([...BASE_PACKAGES, ...(o.packages ?? [])])],
      // Recommends would pull in hundreds of MiB (firmware, docs) the VMs never use.
      aptOptions: ['APT::Install-Recommends "false"'],
      customizeHooks: [join(baseDir, 'customize.sh')],
      signal: o.signal,
      onLine: say,
    });

    const kernelSrc = await pickBootFile(join(rootfs, 'boot'), 'vmlinuz-');
    const initrdSrc = await pickBootFile(join(rootfs, 'boot'), 'initrd.img-');
    const kernel = join(outDir, 'vmlinuz');
    const initrd = join(outDir, 'initrd.img');
    await copyFile(kernelSrc, `${kernel}.tmp`);
    await copyFile(initrdSrc, `${initrd}.tmp`);

    // Room for the tree plus ext4 metadata and a little headroom; the real
    // size comes from the overlay and the first-boot resize2fs.
    const bytes = await treeBytes(rootfs, o.signal);
    const sizeMiB = Math.ceil((bytes * 1.2) / 2 ** 20) + 256;
    const raw = join(work, 'root.ext4');
    say(`pharos: mkfs.ext4 -d (${sizeMiB} MiB)`);
    await exec(
      'mkfs.ext4',
      ['-q', '-F', '-L', 'pharos-root', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-d', rootfs, raw, `${sizeMiB}M`],
      { signal: o.signal, pkg: 'e2fsprogs' },
    );
    const tmpQcow = join(outDir, 'base.qcow2.tmp');
    say('pharos: qemu-img convert -c -O qcow2');
    await exec('qemu-img', ['convert', '-c', '-O', 'qcow2', raw, tmpQcow], { signal: o.signal, pkg: 'qemu-utils' });
    const qcow2 = join(outDir, 'base.qcow2');
    await rename(tmpQcow, qcow2);
    await rename(`${kernel}.tmp`, kernel);
    await rename(`${initrd}.tmp`, initrd);
    const digest = await fileDigest(qcow2);
    const size = (await stat(qcow2)).size;
    say(`pharos: base image ${qcow2} (${(size / 2 ** 20).toFixed(0)} MiB, sha256 ${digest.slice(0, 12)})`);
    return { qcow2, kernel, initrd, digest };
  } finally {
    await removeWorkTree(work);
    for (const f of ['base.qcow2.tmp', 'vmlinuz.tmp', 'initrd.img.tmp']) await rm(join(outDir, f), { force: true });
  }
}
