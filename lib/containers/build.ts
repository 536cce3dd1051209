/**
 * Build an OCI image from a recipe (lib/containers/recipe.ts), offline from the
 * Debian mirror, and pack it as one `oci-archive` file:
 *
 *   mmdebstrap --variant=apt --format=tar (root mode; no Recommends; docs and
 *   man pages excluded by dpkg; apt lists and caches dropped; /etc/resolv.conf
 *   and /etc/hostname removed, the runtime provides them)
 *   → mmtarfilter drops /dev/* (a runtime mounts its own /dev; device nodes in a
 *     layer cannot be created by a rootless unpack)
 *   → umoci init / new / raw add-layer (layer 1: the rootfs)
 *   → COPY files as layer 2 (a tar Pharos writes: root-owned, fixed mtime)
 *   → umoci config (Env with a default PATH, WorkingDir, User, Cmd, Entrypoint, Labels)
 *   → umoci gc → tar of the layout (what `skopeo copy oci-archive:FILE:latest …` reads).
 *
 * Every timestamp is SOURCE_DATE_EPOCH (CONTAINER_EPOCH), so the image's
 * digest depends on the recipe and the mirror's content, not on the clock.
 * The hooks are fixed strings written here; nothing from the recipe runs.
 */
import { chmod, copyFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { removeWorkTree } from '../images/base.js';
import { exec } from '../tools/exec.js';
import { DEFAULT_MIRROR, mmdebstrap } from '../tools/mmdebstrap.js';
import { configArgs, imageRef, readManifest, umoci } from '../tools/umoci.js';
import { fileDigest } from '../util/digest.js';
import type { ContainerRecipe } from './recipe.js';

/** 2024-01-01T00:00:00Z: every file time and image time in a container image. */
export const CONTAINER_EPOCH = 1704067200;
const CREATED = new Date(CONTAINER_EPOCH * 1000).toISOString().replace(/\.000Z$/, 'Z');
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** dpkg filters: no documentation or manual pages, but keep every copyright file. */
export const DPKG_EXCLUDES: readonly string[] = [
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
];

/** Fixed customize hooks (shell, `$1` = the root tree). Nothing here comes from a recipe. */
export const CUSTOMIZE_HOOKS: readonly string[] = [
  'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin',
  'rm -f "$1"/etc/resolv.conf "$1"/etc/hostname',
];

export interface ContainerBuildOptions {
  recipe: ContainerRecipe;
  /** Directory the archive is written to (a work area of its own is made inside it). */
  outDir: string;
  mirror?: string;
  /** mmdebstrap variant: `apt` for recipes; `essential` (no apt in the image) only for tests. */
  variant?: 'apt' | 'essential';
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  onPhase?: (phase: string) => void;
}

export interface BuiltContainerImage {
  /** The oci-archive file (in `outDir`). */
  archive: string;
  /** sha256 (hex) of the archive file. */
  archiveSha256: string;
  /** `sha256:…` of the image manifest. */
  manifestDigest: string;
  /** Compressed layers, total bytes (what a registry stores and a pull transfers). */
  sizeBytes: number;
  /** Uncompressed layer tarballs, total bytes (about what an unpacked image takes). */
  unpackedBytes: number;
}

const TAR_FIXED = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${CONTAINER_EPOCH}`, '--format=pax', '--pax-option=delete=atime,delete=ctime'];

/** Layer 2: the COPY files at their destinations, files only (parents come from the rootfs or are made by the unpacker). */
async function copyLayer(recipe: ContainerRecipe, work: string, tarFile: string, signal?: AbortSignal): Promise<void> {
  const stage = path.join(work, 'copy');
  await mkdir(stage, { recursive: true });
  const members: string[] = [];
  for (const c of recipe.copies) {
    const src = path.join(recipe.dir, c.source);
    const rel = `.${c.dest}`;
    const dst = path.join(stage, rel);
    await mkdir(path.dirname(dst), { recursive: true });
    await copyFile(src, dst);
    await chmod(dst, (await stat(src)).mode & 0o100 ? 0o755 : 0o644);
    members.push(rel);
  }
  await exec('tar', ['-C', stage, ...TAR_FIXED, '--no-recursion', '-cf', tarFile, '--', ...members.sort()], { signal, pkg: 'tar' });
}

const say = (o: ContainerBuildOptions, l: string): void => o.onLine?.(l);

export async function buildContainerImage(o: ContainerBuildOptions): Promise<BuiltContainerImage> {
  const { recipe } = o;
  const outDir = path.resolve(o.outDir);
  const work = path.join(outDir, `.work-container-${recipe.name}-${process.pid}`);
  const run = { signal: o.signal, onLine: o.onLine };
  await removeWorkTree(work);
  await mkdir(work, { recursive: true });
  try {
    const rawTar = path.join(work, 'mmdebstrap.tar');
    const mirror = o.mirror || DEFAULT_MIRROR;
    say(o, `pharos: mmdebstrap ${recipe.suite} (${o.variant ?? 'apt'}) from ${mirror}: ${recipe.packages.join(' ') || '(no extra packages)'}`);
    await mmdebstrap({
      suite: recipe.suite,
      target: rawTar,
      mirror,
      variant: o.variant ?? 'apt',
      include: recipe.packages,
      aptOptions: ['APT::Install-Recommends "false"'],
      dpkgOptions: DPKG_EXCLUDES,
      customizeHooks: CUSTOMIZE_HOOKS,
      // Its temporary chroot (and any mount left by an interrupted run) stays in our work tree.
      env: { SOURCE_DATE_EPOCH: String(CONTAINER_EPOCH), TMPDIR: work },
      signal: o.signal,
      onLine: o.onLine,
    });
    const rootTar = path.join(work, 'rootfs.tar');
    await filterDev(rawTar, rootTar, o.signal);
    await rm(rawTar, { force: true });

    o.onPhase?.('umoci');
    const layout = path.join(work, 'oci');
    const ref = imageRef(layout);
    say(o, 'pharos: umoci: layer 1 (rootfs)');
    await umoci(['init', `--layout=${layout}`], run);
    await umoci(['new', `--image=${ref}`], run);
    await umoci(['raw', 'add-layer', `--image=${ref}`, `--history.created=${CREATED}`, `--history.created_by=pharos: mmdebstrap ${recipe.suite} + packages.txt`, rootTar], run);
    let unpackedBytes = (await stat(rootTar)).size;
    if (recipe.copies.length) {
      say(o, `pharos: umoci: layer 2 (${recipe.copies.length} COPY file${recipe.copies.length === 1 ? '' : 's'})`);
      const copyTar = path.join(work, 'copy.tar');
      await copyLayer(recipe, work, copyTar, o.signal);
      await umoci(['raw', 'add-layer', `--image=${ref}`, `--history.created=${CREATED}`, '--history.created_by=pharos: COPY from the Containerfile', copyTar], run);
      unpackedBytes += (await stat(copyTar)).size;
    }
    const env = recipe.env.some(([k]) => k === 'PATH') ? recipe.env : [['PATH', DEFAULT_PATH] as [string, string], ...recipe.env];
    await umoci(configArgs(ref, { env, workdir: recipe.workdir ?? '/', user: recipe.user, cmd: recipe.cmd, entrypoint: recipe.entrypoint, labels: recipe.labels, created: CREATED }), run);
    await umoci(['gc', `--layout=${layout}`], run);

    const manifest = await readManifest(layout);
    const archive = path.join(outDir, `container-${recipe.name}.oci.tar`);
    o.onPhase?.('packing');
    say(o, `pharos: packing ${archive}`);
    await exec('tar', ['-C', layout, ...TAR_FIXED, '-cf', archive, 'oci-layout', 'index.json', 'blobs'], { signal: o.signal, pkg: 'tar' });
    const sizeBytes = manifest.layerSizes.reduce((a, b) => a + b, 0);
    say(o, `pharos: image ${recipe.name} ${manifest.digest}: layers ${(sizeBytes / 2 ** 20).toFixed(1)} MiB compressed, ${(unpackedBytes / 2 ** 20).toFixed(1)} MiB unpacked`);
    return { archive, archiveSha256: await fileDigest(archive), manifestDigest: manifest.digest, sizeBytes, unpackedBytes };
  } catch (e) {
    await rm(path.join(outDir, `container-${recipe.name}.oci.tar`), { force: true });
    throw e;
  } finally {
    await removeWorkTree(work);
  }
}

/** `mmtarfilter --path-exclude=/dev/*`: keeps the /dev directory, drops its nodes. */
async function filterDev(input: string, output: string, signal?: AbortSignal): Promise<void> {
  await exec('sh', ['-c', 'exec mmtarfilter --path-exclude="/dev/*" < "$1" > "$2"', 'sh', input, output], { signal, pkg: 'mmdebstrap' });
}
