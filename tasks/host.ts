/**
 * Host targets: what the workstation itself needs before any image or VM.
 *
 * - `host:packages`: every Debian package in `scripts/host-packages.txt` is
 *   installed (as root it installs the missing ones; otherwise it fails with the
 *   exact `sudo apt-get install …` line).
 * - `host:libvirtd`: libvirtd answers on the cluster's URI; where no service
 *   manager runs it (containers, CI) it starts virtlogd and libvirtd itself.
 * - `host:accel`: KVM or TCG, proven by the doctor's probe when the config says
 *   `auto`; every VM and image build reads this target's output.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { target, type Target } from '../lib/index.js';
import { PharosError } from '../lib/errors.js';
import { exec } from '../lib/tools/exec.js';
import type { Acceleration, AccelerationSetting } from '../lib/model.js';
import { probeAcceleration } from '../lib/host/kvm.js';

export interface HostTargets {
  packages: Target<{ installed: string[] }>;
  libvirtd: Target<{ uri: string }>;
  accel: Target<{ acceleration: Acceleration; reason: string }>;
}

async function packageList(root: string): Promise<string[]> {
  const text = await readFile(path.join(root, 'scripts/host-packages.txt'), 'utf8');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Packages from `wanted` that dpkg does not report as installed. */
export async function missingPackages(wanted: string[]): Promise<string[]> {
  const r = await exec('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...wanted], { okCodes: [0, 1], pkg: 'dpkg' });
  const ok = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith('install ok installed'))
      .map((l) => l.split(' ')[0]),
  );
  return wanted.filter((p) => !ok.has(p));
}

export function hostTargets(opts: { root: string; libvirtUri: string; acceleration: AccelerationSetting }): HostTargets {
  const packages = target<{ installed: string[] }>({
    name: 'host:packages',
    description: 'Debian packages Pharos needs on the host (libvirt, qemu, packer, ansible, mmdebstrap, …)',
    inputs: ['scripts/host-packages.txt'],
    // dpkg's database changes whenever packages are installed or removed.
    probe: async (out) => {
      const missing = await missingPackages(out.installed);
      return missing.length === 0 ? true : `packages no longer installed: ${missing.join(' ')}`;
    },
    run: async (ctx) => {
      const wanted = await packageList(ctx.root);
      const missing = await missingPackages(wanted);
      if (missing.length) {
        if (process.getuid?.() !== 0) {
          throw new PharosError(`missing host packages: ${missing.join(' ')}`, {
            hint: `install them: sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`,
          });
        }
        ctx.phase('apt-get install');
        const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
        let updated = false;
        for (let i = 1; i <= 3 && !updated; i++) {
          try {
            await ctx.exec('apt-get', ['update', '-qq'], { env });
            updated = true;
          } catch (e) {
            if (i === 3) throw e;
            ctx.log(`apt-get update failed (try ${i} of 3), retrying`);
          }
        }
        await ctx.exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
      }
      return { installed: wanted };
    },
  });

  const libvirtd = target<{ uri: string }>({
    name: 'host:libvirtd',
    description: 'libvirtd and virtlogd running and answering',
    after: [packages],
    params: { uri: opts.libvirtUri },
    always: true,
    run: async (ctx) => {
      ctx.phase('waiting for libvirtd');
      await ctx.exec('bash', [path.join(ctx.root, 'scripts/start-libvirtd.sh')], {
        env: { ...process.env, LIBVIRT_DEFAULT_URI: opts.libvirtUri },
        timeoutMs: 60_000,
        timeoutWhat: `libvirtd to answer on ${opts.libvirtUri}`,
      });
      return { uri: opts.libvirtUri };
    },
  });

  const accel = target<{ acceleration: Acceleration; reason: string }>({
    name: 'host:accel',
    description: 'KVM when a probe guest proves it works, else TCG',
    after: [packages],
    params: { setting: opts.acceleration },
    tools: ['qemu-system-x86_64'],
    run: async (ctx) => {
      ctx.phase('probing KVM');
      const d = await probeAcceleration(opts.acceleration);
      const reason = d.notice ?? d.probe?.reason ?? `acceleration: ${d.acceleration}`;
      ctx.log(reason);
      if (d.acceleration === 'tcg' && opts.acceleration === 'auto') process.stderr.write(`notice: ${reason}\n`);
      return { acceleration: d.acceleration, reason };
    },
  });
  return { packages, libvirtd, accel };
}
