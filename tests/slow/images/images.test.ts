/**
 * Real image builds: the base image from the Debian mirror, booted under TCG
 * to SSH with host keys pinned from its serial console and its identity from
 * fw_cfg; then a Packer role image on top of it with a stub playbook, booted
 * the same way. Takes a few minutes on a 2-core TCG machine.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exec, ExecError } from '../../../lib/tools/exec.js';
import { isPharosError } from '../../../lib/errors.js';
import { waitForSsh } from '../../../lib/tools/ssh.js';
import type { PackerPhase } from '../../../lib/tools/packer.js';
import { buildBaseImage, type BaseImage } from '../../../lib/images/base.js';
import { buildRoleImage, makeBuildKey, type RoleImage } from '../../../lib/images/role.js';
import { knownHostsLines, knownHostsPattern, renderFirstbootConfig } from '../../../lib/images/firstboot.js';
import { startGuest, waitForHostKeys, type Guest } from './guest.js';

const STUB_PLAYBOOK = resolve('tests/slow/images/fixtures/stub-image-playbook.yml');
const CLUSTER_MAC = '52:54:00:77:00:0a';

let work = '';
let base: BaseImage | undefined;
let role: RoleImage | undefined;
let key: { dir: string; keyFile: string; publicKey: string } | undefined;
const guests: Guest[] = [];
const log: string[] = [];

function secs(t0: number): string {
  return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'pharos-images-it-'));
  key = await makeBuildKey();
});

test.after(async () => {
  for (const g of guests) await g.stop();
  if (key) await rm(key.dir, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

async function ssh(g: Guest, knownHosts: string, command: string): Promise<string> {
  if (!key) throw new Error('no key');
  const r = await exec(
    'ssh',
    [
      '-i', key.keyFile,
      '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${knownHosts}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=20',
      '-p', String(g.port),
      'root@127.0.0.1',
      command,
    ],
    { timeoutMs: 60_000, timeoutWhat: `ssh ${command}` },
  );
  return r.stdout;
}

/** Boot an image, pin its announced host keys, wait for sshd; returns the known_hosts path. */
async function bootAndPin(name: string, image: { qcow2: string; kernel: string; initrd: string }, hostname: string): Promise<{ g: Guest; kh: string }> {
  if (!key) throw new Error('no key');
  const t0 = Date.now();
  const g = await startGuest({
    workDir: work,
    name,
    image: image.qcow2,
    kernel: image.kernel,
    initrd: image.initrd,
    clusterMac: CLUSTER_MAC,
    config: renderFirstbootConfig({
      hostname,
      sshAuthorizedKeys: [key.publicKey],
      clusterIp: '10.77.0.10/24',
      clusterMac: CLUSTER_MAC,
      hosts: [{ name: 'hpc-compute-01', ip: '10.77.0.11' }],
    }),
  });
  guests.push(g);
  const keys = await waitForHostKeys(g, 300_000);
  const kh = join(work, `${name}.known_hosts`);
  await writeFile(kh, knownHostsLines(knownHostsPattern('127.0.0.1', g.port), keys));
  await waitForSsh({ host: '127.0.0.1', port: g.port, timeoutMs: 300_000 });
  log.push(`${name}: SSH banner after ${secs(t0)}`);
  return { g, kh };
}

test('an interrupted base build stops mmdebstrap and leaves no tree, mount or partial image', async () => {
  const out = join(work, 'aborted');
  const ac = new AbortController();
  try {
    await buildBaseImage({
      outDir: out,
      signal: ac.signal,
      // Abort once packages are being installed inside the chroot (proc/sys mounted).
      onLine: (l) => {
        if (l.includes('installing remaining packages')) ac.abort();
      },
    });
    assert.unreachable('the build finished despite the abort');
  } catch (e) {
    assert.ok(isPharosError(e), String(e));
    assert.is(e.exitCode, 130);
  }
  assert.equal(await readdir(out), [], 'work tree and temp files removed');
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  assert.not.ok(mounts.includes(out), 'nothing left mounted under the output dir');
});

test('image:base builds from the Debian mirror (mmdebstrap, mkfs.ext4 -d, qcow2)', async () => {
  const t0 = Date.now();
  base = await buildBaseImage({ outDir: join(work, 'base') });
  log.push(`base image built in ${secs(t0)}`);
  const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', base.qcow2])).stdout) as { format: string };
  assert.is(info.format, 'qcow2');
  assert.ok((await stat(base.kernel)).size > 1_000_000, 'kernel extracted');
  assert.ok((await stat(base.initrd)).size > 1_000_000, 'initrd extracted');
  assert.match(base.digest, /^[0-9a-f]{64}$/);
});

test('base image boots under TCG; fw_cfg sets hostname, key, cluster IP; host key pinned from the console', async () => {
  if (!base) throw new Error('base image was not built');
  const { g, kh } = await bootAndPin('base', base, 'pharos-it-base');
  try {
    const out = await ssh(g, kh, 'hostname; ip -4 -o addr show; findmnt -n -o SIZE /; test -s /etc/machine-id && echo machine-id-ok');
    const lines = out.split('\n');
    assert.is(lines[0], 'pharos-it-base');
    assert.match(out, /inet 10\.77\.0\.10\/24/, 'cluster IP on the NIC with the cluster MAC');
    assert.match(out, /inet 10\.0\.2\.15\/24/, 'DHCP on the management NIC');
    assert.match(out, /machine-id-ok/);
    // Overlay is 4G; the image is < 1G: the first boot grew the filesystem.
    assert.match(out, /\n\s*(3\.\d|4(\.0)?)G\n/, `root fs grown to the overlay size: ${out}`);

    // Pinning is real: the same server with a different pinned key is refused.
    const wrong = join(work, 'wrong.known_hosts');
    await writeFile(
      wrong,
      knownHostsLines(knownHostsPattern('127.0.0.1', g.port), [{ type: 'ssh-ed25519', key: 'AAAAC3NzaC1lZDI1NTE5AAAAIJN+elVVmOnAfBLfL3S5mcr6suaG9Z0a28QwmV0B35v4' }]),
    );
    try {
      await ssh(g, wrong, 'true');
      assert.unreachable('ssh accepted a host key that was not pinned');
    } catch (e) {
      assert.ok(e instanceof ExecError);
      assert.match(e.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    }
  } finally {
    await g.stop();
  }
});

test('image:hpc-compute builds with Packer (stub playbook) and boots with its own kernel', async () => {
  if (!base) throw new Error('base image was not built');
  const phases: PackerPhase[] = [];
  const t0 = Date.now();
  const packerLog: string[] = [];
  try {
      role = await buildRoleImage({
        role: 'hpc-compute',
        base,
        outDir: join(work, 'compute'),
        accelerator: 'tcg',
        memoryMiB: 1024,
        cpus: 1,
        playbookFile: STUB_PLAYBOOK,
        onLine: (l) => packerLog.push(l),
        onPhase: (p) => phases.push(p),
      });
    } catch (e) {
      console.error(packerLog.slice(-60).join('\n'));
      throw e;
    }
    log.push(`hpc-compute image (stub playbook) built in ${secs(t0)}`);
    assert.equal(phases, ['preparing', 'booting', 'provisioning', 'cleanup', 'compacting', 'done']);
    assert.ok(packerLog.some((l) => l.includes('PLAY RECAP')), 'the ansible provisioner ran');
  const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', role.qcow2])).stdout) as { format: string; 'virtual-size': number };
  assert.is(info.format, 'qcow2');
  assert.ok(info['virtual-size'] <= 4 * 2 ** 30, 'fits the 4 GB node disks of the local config');

    const { g, kh } = await bootAndPin('compute', role, 'hpc-compute-01');
    try {
    const out = await ssh(g, kh, 'hostname; cat /etc/pharos-image; ls /var/lib/apt/lists | wc -l; ip -4 -o addr show');
    const lines = out.split('\n');
    assert.is(lines[0], 'hpc-compute-01');
    assert.is(lines[1], 'role=hpc-compute', 'playbook result is in the image');
    assert.is(lines[2], 'gpu=false');
    assert.ok(Number(lines[3]) <= 2, 'apt lists cleaned');
    assert.match(out, /inet 10\.77\.0\.10\/24/);
    // The build's key is not in the image: only the key from this VM's fw_cfg.
    const ak = await ssh(g, kh, 'cat /root/.ssh/authorized_keys');
    assert.is(ak.trim(), key?.publicKey);
  } finally {
    await g.stop();
  }
});

test.after.each(() => {
  for (const l of log.splice(0)) console.log(`  [images] ${l}`);
});

test.run();
