/**
 * A throwaway QEMU guest for the image tests: direct kernel boot under TCG of
 * a qcow2 overlay, management NIC on user networking with SSH forwarded to a
 * free port on 127.0.0.1, an optional cluster NIC, config through fw_cfg, and
 * the serial console in a file we can read for PHAROS-HOSTKEY lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { exec } from '../../../lib/tools/exec.js';
import { fwCfgQemuArg, parseHostKeyLines, type HostKey } from '../../../lib/images/firstboot.js';
import { KERNEL_CMDLINE } from '../../../lib/images/base.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Guest {
  port: number;
  consoleFile: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  hostKeys(): Promise<HostKey[]>;
}

export async function startGuest(o: {
  workDir: string;
  name: string;
  image: string;
  kernel: string;
  initrd: string;
  config: string;
  clusterMac?: string;
  memoryMiB?: number;
  diskGiB?: number;
}): Promise<Guest> {
  const overlay = join(o.workDir, `${o.name}.overlay.qcow2`);
  // An overlay smaller than its image cuts the filesystem short (the kernel
  // refuses to mount it): never go below the image's virtual size.
  const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', o.image])).stdout) as { 'virtual-size': number };
  const size = Math.max(info['virtual-size'], (o.diskGiB ?? 4) * 2 ** 30);
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', o.image, overlay, String(size)]);
  const port = await freePort();
  const consoleFile = join(o.workDir, `${o.name}.console.log`);
  const args = [
    '-accel', 'tcg',
    '-m', String(o.memoryMiB ?? 1024),
    '-smp', '1',
    '-display', 'none',
    '-monitor', 'none',
    '-serial', `file:${consoleFile}`,
    '-kernel', o.kernel,
    '-initrd', o.initrd,
    '-append', KERNEL_CMDLINE,
    '-drive', `file=${overlay},if=virtio,format=qcow2`,
    '-netdev', `user,id=mgmt,hostfwd=tcp:127.0.0.1:${port}-:22`,
    '-device', 'virtio-net-pci,netdev=mgmt',
    '-fw_cfg', fwCfgQemuArg(o.config),
  ];
  if (o.clusterMac) {
    // A second NIC with no peer is enough to see the static address applied.
    args.push('-netdev', 'user,id=cluster,restrict=on', '-device', `virtio-net-pci,netdev=cluster,mac=${o.clusterMac}`);
  }
  const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.once('exit', (code) => {
    if (code) console.error(`qemu for ${o.name} exited ${code}: ${stderr}`);
  });
  return {
    port,
    consoleFile,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
    async hostKeys() {
      return parseHostKeyLines(await readFile(consoleFile, 'utf8').catch(() => ''));
    },
  };
}

/** Polls the console until the guest announced host keys (or the guest died). */
export async function waitForHostKeys(g: Guest, timeoutMs: number): Promise<HostKey[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const keys = await g.hostKeys();
    if (keys.some((k) => k.type === 'ssh-ed25519')) return keys;
    const text = await readFile(g.consoleFile, 'utf8').catch(() => '');
    const stuck = /Kernel panic|\(initramfs\) ?$|Failed to mount .* as root/m.exec(text);
    if (stuck) {
      throw new Error(`guest failed to boot (${stuck[0]}):\n${text.split('\n').slice(-15).join('\n')}`);
    }
    if (g.proc.exitCode !== null) throw new Error(`guest exited (${g.proc.exitCode}) before announcing host keys; see ${g.consoleFile}`);
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for PHAROS-HOSTKEY lines on ${g.consoleFile}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
