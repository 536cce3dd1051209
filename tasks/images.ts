/**
 * Image targets: `image:base` (mmdebstrap from the Debian mirror, or a cloud
 * image URL + checksum) and one Packer role image per role the config's nodes
 * boot from (`image:hpc-controller`, `image:hpc-compute`; for a cloud cluster
 * `image:cloud-base`, and `image:cloud-gpu-worker` for its GPU workers).
 *
 * Every image lives in the machine-level content-addressed cache under its
 * target's cache key, so a second clone or a CI run on the same machine with
 * the same inputs finds it without building. A deploy-only role edit does not
 * reach an image key (see lib/images/inputs.ts).
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { exec } from '../lib/tools/exec.js';
import { target, type Target } from '../lib/index.js';
import { hasRealGpu, type SystemPlan } from '../lib/model.js';
import {
  BASE_IMAGE_INPUTS,
  buildBaseImage,
  buildRoleImage,
  cacheLookup,
  cachedSha256,
  cloudImage,
  fileDigest,
  IMAGE_ROLES,
  roleImageInputs,
  storeInCache,
  type ImageRole,
} from '../lib/images/index.js';
import type { HostTargets } from './host.js';

export interface ImageOut {
  qcow2: string;
  kernel: string;
  initrd: string;
  digest: string;
}

export type ImageTargets = { base: Target<ImageOut> } & Partial<Record<ImageRole, Target<ImageOut>>>;

const FILES = ['base.qcow2', 'vmlinuz', 'initrd.img'] as const;

/**
 * The machine-cache key of an image: a digest of exactly what shapes it — the
 * content of its input files, its params, the versions of the tools that build
 * it and the digest of the image it starts from. Unlike the engine's key, it
 * leaves out the engine's own bookkeeping (a target's code text), so any clone
 * or CI run with the same inputs on this machine finds the same image.
 */
export async function imageKey(root: string, globs: readonly string[], params: unknown, tools: string[][], from?: string): Promise<string> {
  const { globby } = await import('globby');
  const files = (await globby([...globs], { cwd: root, dot: true, followSymbolicLinks: true, onlyFiles: true, ignore: ['**/packer_cache/**'] })).sort();
  const h = createHash('sha256');
  h.update(`pharos-image-key-v1\n${JSON.stringify(params)}\nfrom ${from ?? '-'}\n`);
  for (const f of files) h.update(`${f} ${await fileDigest(path.join(root, f))}\n`);
  for (const [cmd, ...args] of tools) {
    const r = await exec(cmd!, args, { okCodes: [0, 1] }).catch(() => ({ stdout: 'missing', stderr: '' }));
    h.update(`${cmd} ${(r.stdout || r.stderr).split('\n')[0]}\n`);
  }
  return h.digest('hex');
}

/** The three files of an image under one key, when all are in the cache. */
async function lookupImage(cacheDir: string, key: string, qcowName: string): Promise<ImageOut | undefined> {
  const qcow2 = await cacheLookup(cacheDir, key, qcowName);
  const kernel = await cacheLookup(cacheDir, key, 'vmlinuz');
  const initrd = await cacheLookup(cacheDir, key, 'initrd.img');
  if (!qcow2 || !kernel || !initrd) return undefined;
  return { qcow2, kernel, initrd, digest: await cachedSha256(qcow2) };
}

async function storeImage(cacheDir: string, key: string, img: { qcow2: string; kernel: string; initrd: string; digest: string }, qcowName: string): Promise<ImageOut> {
  return {
    qcow2: await storeInCache(cacheDir, img.qcow2, key, { move: true, name: qcowName, sha256: img.digest }),
    kernel: await storeInCache(cacheDir, img.kernel, key, { move: true, name: 'vmlinuz' }),
    initrd: await storeInCache(cacheDir, img.initrd, key, { move: true, name: 'initrd.img' }),
    digest: img.digest,
  };
}

export async function imageTargets(system: SystemPlan, host: HostTargets, root: string): Promise<ImageTargets> {
  const b = system.baseImage;
  const baseInputs = [...BASE_IMAGE_INPUTS, 'lib/images/base.ts'];
  const base = target<ImageOut>({
    name: 'image:base',
    description: b.source === 'mmdebstrap' ? `Debian ${b.suite} base image (mmdebstrap, direct kernel boot)` : `base image from ${b.url}`,
    after: [host.packages],
    inputs: baseInputs,
    params: b,
    tools: ['mmdebstrap', 'qemu-img', { name: 'mkfs.ext4', args: ['-V'] }],
    env: ['PHAROS_DEBIAN_MIRROR'],
    pool: 'image',
    outputFiles: (o) => [o.qcow2, o.kernel, o.initrd].filter(Boolean),
    run: async (ctx) => {
      const key = await imageKey(ctx.root, baseInputs, { b, mirror: process.env.PHAROS_DEBIAN_MIRROR ?? '' }, [['mmdebstrap', '--version'], ['qemu-img', '--version'], ['mkfs.ext4', '-V']]);
      const hit = await lookupImage(ctx.cacheDir, key, FILES[0]);
      if (hit) {
        ctx.log(`image:base found in the machine cache (${path.dirname(hit.qcow2)})`);
        return hit;
      }
      const work = path.join(ctx.cacheDir, 'work', `base-${key.slice(0, 16)}`);
      await mkdir(work, { recursive: true });
      try {
        if (b.source === 'cloud-image' && b.url && b.checksum) {
          ctx.phase('downloading');
          const { qcow2 } = await cloudImage({ url: b.url, checksum: b.checksum, cacheDir: ctx.cacheDir, signal: ctx.signal });
          // A cloud image boots with its own bootloader: no separate kernel.
          const digest = await fileDigest(qcow2);
          return { qcow2, kernel: '', initrd: '', digest };
        }
        ctx.phase('mmdebstrap');
        const img = await buildBaseImage({
          outDir: work,
          suite: b.suite,
          mirror: process.env.PHAROS_DEBIAN_MIRROR || b.mirror,
          packages: b.packages,
          signal: ctx.signal,
          onLine: ctx.log,
        });
        ctx.phase('storing');
        return await storeImage(ctx.cacheDir, key, img, FILES[0]);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  });

  const out: ImageTargets = { base };
  const roles = new Set<ImageRole>();
  for (const c of system.clusters) {
    for (const n of c.nodes) {
      const name = n.image.kind === 'built' ? n.image.name : undefined;
      const role = IMAGE_ROLES.find((r) => r === name);
      if (role) roles.add(role);
    }
  }
  const hpcGpu = system.clusters.some((c) => c.kind === 'hpc' && hasRealGpu(c));
  for (const role of [...roles].sort()) {
    const qcowName = `${role}.qcow2`;
    const inputs = [...(await roleImageInputs(root, role)), 'lib/images/role.ts', '!packer/**/packer_cache/**'];
    // The GPU driver goes into the HPC compute image only when the config passes
    // a GPU through to the HPC cluster; the cloud GPU worker image always has it.
    const withGpuDrivers = role === 'cloud-gpu-worker' || (role === 'hpc-compute' && hpcGpu);
    const params = { role, withGpuDrivers };
    out[role] = target<ImageOut, { base: Target<ImageOut>; accel: HostTargets['accel'] }>({
      name: `image:${role}`,
      description: `${role} image: the base image with the image-time parts of its roles (Packer + Ansible)`,
      deps: { base, accel: host.accel },
      inputs,
      params,
      tools: [{ name: 'packer', args: ['version'] }, 'qemu-system-x86_64', 'ansible-playbook'],
      pool: 'image',
      outputFiles: (o) => [o.qcow2, o.kernel, o.initrd].filter(Boolean),
      run: async (ctx) => {
        const key = await imageKey(ctx.root, inputs, params, [['packer', 'version'], ['qemu-system-x86_64', '--version'], ['ansible-playbook', '--version']], ctx.deps.base.digest);
        const hit = await lookupImage(ctx.cacheDir, key, qcowName);
        if (hit) {
          ctx.log(`image:${role} found in the machine cache (${path.dirname(hit.qcow2)})`);
          return hit;
        }
        const work = path.join(ctx.cacheDir, 'work', `${role}-${key.slice(0, 16)}`);
        await mkdir(work, { recursive: true });
        try {
          ctx.phase('booting');
          const img = await buildRoleImage({
            role,
            base: ctx.deps.base,
            outDir: work,
            accelerator: ctx.deps.accel.acceleration,
            memoryMiB: 1536,
            cpus: 1,
            withGpuDrivers,
            signal: ctx.signal,
            onLine: ctx.log,
            onPhase: (p) => ctx.phase(p),
          });
          ctx.phase('storing');
          return await storeImage(ctx.cacheDir, key, img, qcowName);
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      },
    });
  }
  return out;
}
